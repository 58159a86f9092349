// check reads manifests through a fast reader (js-yaml) and falls back to the exact one (yaml) for
// what it could read differently: both must give the same objects on the same lines, and the same
// errors, whatever the text holds.
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { objectName } from '../../src/core/types.js';
import { InputError } from '../../src/cli/input-error.js';
import { manifestValues, parseManifests } from '../../src/cli/manifests.js';

// A collection on demand, without starting node with --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

function exact(path: string, text: string) {
  return parseManifests(path, text).objects.map(({ object, line }) => ({ object, line }));
}

function assertSameReading(name: string, text: string): void {
  assert.deepEqual([...manifestValues(name, text)], exact(name, text), name);
}

const TEXTS: Record<string, string> = {
  'several documents, comments and blank lines':
    '# top\n---\n# about a\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n\n\nkind: Pod\nmetadata:\n  name: b\n--- {kind: Pod, metadata: {name: c}}\n...\n',
  'empty documents': '---\n---\n# only a comment\n---\nkind: Pod\n',
  'scalars of the YAML 1.2 core schema':
    'kind: Pod\nmetadata:\n  annotations:\n    a: 0777\n    b: 0o17\n    c: 1_000\n    d: 0x1F\n    e: yes\n    f: "on"\n    g: 2001-12-14\n    h: 12:30:00\n    i: +12\n    j: 1e3\n    k: ~\n    l: Null\n    m: .5\n    n: True\n    o: -.inf\n',
  'binary integers': 'kind: Pod\nspec:\n  terminationGracePeriodSeconds: 0b101\n',
  'a YAML 1.1 directive': '%YAML 1.1\n---\nkind: Pod\nspec:\n  hostNetwork: yes\n  priority: 0777\n',
  'anchors and aliases':
    'kind: Deployment\nmetadata:\n  labels: &l {app: web}\nspec:\n  selector: {matchLabels: *l}\n  template:\n    metadata: {labels: *l}\n',
  'merge keys': 'kind: Pod\nmetadata:\n  <<: {name: merged}\n  namespace: x\n',
  tags: 'kind: Pod\nmetadata:\n  name: !!str 123\n',
  'a List':
    'apiVersion: v1\nkind: List\nitems:\n  - kind: Pod\n    metadata: {name: a}\n  # between\n  - kind: Pod\n    metadata: {name: b}\n',
  'block scalars holding separators':
    'kind: Pod\nspec:\n  containers:\n    - name: a\n      command:\n        - sh\n        - -c\n        - |\n          echo "---"\n          exec /app && true\n---\nkind: Pod\n',
  JSON: '{\n  "kind": "Pod",\n  "metadata": {"name": "j"},\n  "spec": {"containers": [{"name": "a", "command": ["sh", "-c", "x & y"]}]}\n}\n',
  'CRLF line ends': 'kind: Pod\r\nmetadata:\r\n  name: crlf\r\n---\r\nkind: Pod\r\n',
  'a top-level scalar and sequence': 'just text\n---\n- a\n- b\n',
};

describe('the fast manifest reader', () => {
  for (const [name, text] of Object.entries(TEXTS)) {
    test(`reads ${name} as the exact reader does`, () => assertSameReading(name, text));
  }

  test('reads every fixture as the exact reader does', () => {
    let files = 0;
    for (const rule of readdirSync(FIXTURES, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
      for (const file of readdirSync(join(FIXTURES, rule.name)).filter((name) => /\.(ya?ml|json)$/.test(name))) {
        assertSameReading(`${rule.name}/${file}`, readFileSync(join(FIXTURES, rule.name, file), 'utf8'));
        files += 1;
      }
    }
    assert.ok(files >= 10, `only ${files} fixture files found`);
  });

  test("invalid YAML fails with the exact reader's message (file and line)", () => {
    for (const text of [
      'kind: Pod\nmetadata:\n  name: a\n  name: b\n',
      'kind: Pod\n  bad: indent\n',
      'a: [1, 2\n',
      'kind: "unterminated\n',
      // In a later document: the line counts from the start of the file.
      'kind: Pod\n---\nkind: Pod\n---\n# third\nkind: Pod\nmetadata:\n  name: a\n  name: b\n',
      'kind: Pod\n---\nkind: Pod\nanchored: &a 1\nbad: [\n',
      '%YAML 1.2\n---\nkind: Pod\n---\nkind: Pod\n  bad: indent\n',
    ]) {
      const expected = (() => {
        try {
          parseManifests('bad.yaml', text);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      assert.ok(expected instanceof InputError, `the exact reader accepts ${JSON.stringify(text)}`);
      assert.throws(
        () => [...manifestValues('bad.yaml', text)],
        (error: unknown) => error instanceof InputError && error.message === expected.message,
      );
    }
  });
});

describe('manifestValues streams', () => {
  const valid = 'kind: Pod\nmetadata: {name: first}\n';
  const broken = 'kind: Pod\nmetadata:\n  name: a\n  name: b\n';
  const cases: Record<string, string> = {
    'plain documents': `${valid}---\n${valid}---\n${broken}`,
    'documents the exact reader reads': `${valid}anchor: &a 1\n---\n${valid}---\n${broken}`,
    'a file with a directive (read whole by the exact reader, still a document at a time)': `%YAML 1.2\n---\n${valid}---\n${valid}---\n${broken}`,
  };
  for (const [name, text] of Object.entries(cases)) {
    test(`${name}: a document is yielded before the later ones are parsed`, () => {
      const documents = manifestValues('m.yaml', text);
      // The third document is invalid: reading the whole file first would throw here.
      assert.equal(objectName(documents.next().value?.object), 'first');
      assert.equal(objectName(documents.next().value?.object), 'first');
      assert.throws(() => documents.next(), /m\.yaml:\d+:\d+: invalid YAML: Map keys must be unique/);
    });
  }

  for (const [name, header, line] of [
    ['plain documents', '', ''],
    ['documents the exact reader reads', '', 'anchor: &a 1\n'],
    ['a file with a directive', '%YAML 1.2\n---\n', ''],
  ]) {
    test(`${name}: no document read before is kept while the next one is consumed`, async () => {
      const text = header + Array.from({ length: 30 }, (_, index) => `kind: Pod\nmetadata: {name: p${index}}\n${line}`).join('---\n');
      const earlier: WeakRef<object>[] = [];
      const documents = manifestValues('m.yaml', text);
      // Only a weak reference to each document outlives this call.
      const readOne = () => {
        const next = documents.next();
        if (!next.done) earlier.push(new WeakRef(next.value.object as object));
        return !next.done;
      };
      while (readOne()) {
        // WeakRefs hold their target until the current job ends; then a collection frees what nobody holds.
        await new Promise((resolve) => setImmediate(resolve));
        collectGarbage();
        const alive = earlier.slice(0, -1).filter((ref) => ref.deref() !== undefined).length;
        assert.equal(alive, 0, `${alive} earlier document(s) still held at document ${earlier.length}`);
      }
      assert.equal(earlier.length, 30);
    });
  }
});
