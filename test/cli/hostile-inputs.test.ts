// Whatever a file holds, check and fix end with 0, 1 or 2 and say what was wrong, never with a crash
// (134 for V8 out of memory, a signal) or a stack trace: a table of hostile files, and a property over
// generated ones.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { runCli, tempDir, type CliResult } from './run.js';

function assertContract(result: CliResult, what: string): void {
  assert.ok(
    result.status === 0 || result.status === 1 || result.status === 2,
    `${what}: exit ${result.status}: ${result.stderr.slice(0, 500)}`,
  );
  assert.doesNotMatch(result.stderr, /\n\s+at /, `${what}: a stack trace: ${result.stderr.slice(0, 500)}`);
  if (result.status === 2) assert.match(result.stderr, /^error: /m, `${what}: exit 2 without an error line`);
}

/** check (its JSON report) and fix on `paths`; their exit codes. */
function runBoth(cwd: string, paths: string[]): number[] {
  const statuses: number[] = [];
  for (const args of [
    ['check', '-o', 'json', ...paths],
    ['fix', ...paths],
  ]) {
    const result = runCli(args, { cwd });
    assertContract(result, args.join(' '));
    if (args.includes('json')) JSON.parse(result.stdout);
    statuses.push(result.status ?? -1);
  }
  return statuses;
}

const container = (index: number) => ({ name: `c${index}`, image: 'x', command: ['sh', '-c', 'x'] });
const pod = (containers: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'shop' },
  spec: { containers: Array.from({ length: containers }, (_, index) => container(index)) },
});

/** Ten levels of ten aliases each: 10^8 nodes when expanded. */
const LAUGHS = `kind: Pod\n${Array.from({ length: 8 }, (_, level) => {
  const name = String.fromCharCode(97 + level);
  const items = level === 0 ? Array(10).fill('x') : Array(10).fill(`*${String.fromCharCode(96 + level)}`);
  return `${name}: &${name} [${items.join(',')}]`;
}).join('\n')}\n`;

const HOSTILE: Record<string, string | Buffer> = {
  // 25 Pods of 1,000 containers in one List: 1.3 MB, 100,000 findings.
  'list.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: 25 }, () => pod(1000)) }),
  'deep-flow.yaml': `${'['.repeat(200_000)}${']'.repeat(200_000)}`,
  'deep-json.json': `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
  'deep-block.yaml': `kind: Pod\nspec:\n${Array.from({ length: 1000 }, (_, depth) => `${' '.repeat(2 * depth + 2)}k:`).join('\n')} 1\n`,
  'deep-in-pod.yaml': `${JSON.stringify(pod(1)).slice(0, -3)},"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}]}}`,
  'laughs.yaml': LAUGHS,
  'garbage.yaml': randomBytes(200_000),
  'invalid-utf8.yaml': Buffer.concat([
    Buffer.from('kind: Pod\nmetadata: {name: "'),
    Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0]),
    Buffer.from('"}\n'),
  ]),
  'empty.yaml': '',
  'nul.yaml': Buffer.alloc(1000),
  'bom-only.yaml': '\uFEFF',
  'separators.yaml': '---\n'.repeat(200_000),
  'long-line.yaml': `kind: Pod\nmetadata: {name: ${'n'.repeat(1_000_000)}}\n`,
};

describe('hostile files', () => {
  const dir = tempDir('hostile');
  for (const [name, content] of Object.entries(HOSTILE)) writeFileSync(join(dir, name), content);

  for (const name of Object.keys(HOSTILE)) {
    test(`${name}: exit 0, 1 or 2 with a message`, () => {
      runBoth(dir, [name]);
    });
  }

  test('a directory with files that cannot be read: each is reported, the others are checked', () => {
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'a-good.yaml'), JSON.stringify(pod(1)));
    symlinkSync('/proc/self/mem', join(tree, 'mem.yaml')); // a "regular file" whose reads fail (EIO)
    symlinkSync(join(tree, 'nowhere'), join(tree, 'dangling.yaml'));
    symlinkSync('loop.yaml', join(tree, 'loop.yaml'));
    writeFileSync(join(tree, 'locked.yaml'), JSON.stringify(pod(1)), { mode: 0o000 }); // readable anyway as root
    mkdirSync(join(tree, 'folder.yaml'));
    const statuses = runBoth(dir, ['tree']);
    assert.deepEqual(statuses, [2, 2]);
    const result = runCli(['check', 'tree'], { cwd: dir });
    assert.match(result.stderr, /mem\.yaml: cannot read/);
    assert.match(result.stderr, /dangling\.yaml: cannot read/);
    assert.match(result.stderr, /loop\.yaml: cannot read/);
    assert.match(result.stdout, /tree\/a-good\.yaml/);
  });
});

const TOKENS = [
  '---\n',
  '...\n',
  'kind: Pod\n',
  'apiVersion: v1\nkind: List\nitems:\n',
  'spec:\n  containers:\n  - name: a\n    command: [sh, -c, x]\n',
  '&a ',
  '*a ',
  '<<: ',
  '!!binary ',
  '!tag ',
  '%YAML 1.1\n',
  '%TAG ! tag:x,2000:\n',
  '[',
  ']',
  '{',
  '}',
  ': ',
  '- ',
  '  ',
  '\n',
  '\t',
  '"',
  "'",
  '|\n',
  '>-\n',
  '# c\n',
  '\u0000',
  '\uFEFF',
  '\u2028',
  '{{ .Values }}',
  '0b101',
];

const yamlSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 200 }).map((tokens) => tokens.join(''));
const bytes = fc.uint8Array({ maxLength: 4096 }).map((array) => Buffer.from(array));

test('generated files: check and fix exit 0, 1 or 2 with a message', () => {
  const dir = tempDir('soup');
  let run = 0;
  fc.assert(
    fc.property(fc.array(fc.oneof(yamlSoup, bytes), { minLength: 1, maxLength: 5 }), (contents) => {
      const folder = join(dir, String((run += 1)));
      mkdirSync(folder);
      contents.forEach((content, index) => writeFileSync(join(folder, `${index}.yaml`), content));
      runBoth(dir, [String(run)]);
    }),
    { numRuns: 6 },
  );
});
