import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../src/cli/input-error.js';
import { expandPaths, objectIdentity, parseManifests, readInputText } from '../../src/cli/manifests.js';
import { tempDir, writeFiles } from './run.js';

describe('parseManifests', () => {
  test('multi-document YAML with comments and empty documents: objects with their 1-based lines', () => {
    const text = '# leading comment\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\n# c\nkind: Service\nmetadata:\n  name: s\n';
    const file = parseManifests('m.yaml', text);
    assert.equal(file.documents.length, 3);
    assert.deepEqual(
      file.objects.map(({ object, line, path }) => [objectIdentity(object).name, line, path]),
      [
        ['a', 2],
        ['s', 8],
      ].map(([name, line]) => [name, line, []]),
    );
  });

  test('kind: List and typed lists (PodList) hold their objects in items', () => {
    const text =
      'kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- 5\n- kind: Pod\n  metadata: {name: b}\n---\nkind: PodList\nitems: [{kind: Pod, metadata: {name: c}}]\n';
    const file = parseManifests('l.yaml', text);
    assert.deepEqual(
      file.objects.map(({ object, line, path }) => [objectIdentity(object).name, line, path]),
      [
        ['a', 3, ['items', 0]],
        ['b', 6, ['items', 2]],
        ['c', 10, ['items', 0]],
      ],
    );
  });

  test('JSON and flow style', () => {
    assert.equal(
      objectIdentity(parseManifests('p.json', '{"kind":"Pod","metadata":{"name":"j","namespace":"n"}}').objects[0]?.object).namespace,
      'n',
    );
    assert.equal(objectIdentity(parseManifests('f.yaml', '{kind: Pod, metadata: {name: f}}').objects[0]?.object).name, 'f');
  });

  test('unparseable YAML is an InputError naming file, line and column', () => {
    assert.throws(
      () => parseManifests('bad.yaml', 'kind: Pod\nmetadata:\n  name: a\n  name: b\n'),
      (error: unknown) => error instanceof InputError && /^bad\.yaml:4:3: invalid YAML: /.test(error.message),
    );
  });

  test('objectIdentity never throws', () => {
    for (const value of [null, 'x', 1, [], { kind: 3, metadata: 'x' }])
      assert.deepEqual(objectIdentity(value), { kind: '', namespace: '', name: '' });
    assert.equal(objectIdentity({ metadata: { generateName: 'g-' } }).name, 'g-');
  });
});

describe('expandPaths and readInputText', () => {
  const dir = tempDir('manifests');
  writeFiles(dir, {
    'b.yaml': 'kind: Pod\n',
    'a/z.yml': 'kind: Pod\n',
    'a/y.JSON': '{}',
    'a/x.txt': 'kind: Pod\n',
    'a/.hidden/h.yaml': 'kind: Pod\n',
    'a/node_modules/n.yaml': 'kind: Pod\n',
  });

  test('directories expand recursively to sorted .yaml/.yml/.json files', () => {
    assert.deepEqual(expandPaths([dir]), [join(dir, 'a', 'y.JSON'), join(dir, 'a', 'z.yml'), join(dir, 'b.yaml')]);
  });

  test('files and - pass through; a missing path is an InputError', () => {
    assert.deepEqual(expandPaths(['-', join(dir, 'a', 'x.txt')]), ['-', join(dir, 'a', 'x.txt')]);
    assert.throws(
      () => expandPaths([join(dir, 'nope.yaml')]),
      (error: unknown) => error instanceof InputError && /nope\.yaml: no such file or directory/.test(error.message),
    );
  });

  test('- reads stdin through the given reader', () => {
    const text = readInputText('-', { readStdin: () => 'kind: Pod\nmetadata: {name: from-stdin}\n', maxBytes: 1024 });
    assert.equal(objectIdentity(parseManifests('-', text).objects[0]?.object).name, 'from-stdin');
  });

  test('an unreadable path is an InputError', () => {
    assert.throws(() => readInputText(join(dir, 'a'), { readStdin: () => '', maxBytes: 1024 }), InputError);
  });
});
