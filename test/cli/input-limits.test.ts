// What a file or stdin can do to the CLI: nothing but exit 0, 1 or 2. Devices, FIFOs, oversized files and
// stdin, and alias bombs that `fix` would write out expanded are bad input (2), refused quickly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DENIED_POD, runCli, tempDir, writeFiles } from './run.js';

function assertRefused(result: ReturnType<typeof runCli>, message: RegExp): void {
  assert.equal(result.status, 2, `exit ${result.status}: ${result.stderr}`);
  assert.match(result.stderr, message);
  // Nothing was read: a summary at most, with no object in it.
  assert.doesNotMatch(result.stdout, /[1-9]\d* object\(s\) checked|apiVersion/);
}

/** Aliases of one 40 KB anchor: with 999, 45 KB of YAML that expands to 40 MB. */
function aliasBomb(count: number): string {
  const aliases = Array.from({ length: count }, (_, index) => `    k${index}: *big`).join('\n');
  return `apiVersion: v1
kind: Pod
metadata:
  name: bomb
  namespace: shop
  labels: {blob: &big "${'x'.repeat(40_000)}"}
spec:
  containers:
  - name: app
    image: example/app
    command: ["/app/server"]
    readinessProbe: {tcpSocket: {port: 8080}}
  nodeSelector:
    unused: "yes"
x-extra:
  blobs:
${aliases}
`;
}

describe('inputs the CLI refuses', () => {
  const dir = tempDir('limits');

  for (const command of ['check', 'fix']) {
    test(`${command} /dev/zero is refused as a device, not read`, () => {
      assertRefused(runCli([command, '/dev/zero'], { cwd: dir }), /\/dev\/zero: a device, not a regular file/);
    });

    test(`${command} of a FIFO is refused without blocking on it`, () => {
      const fifo = join(dir, `${command}.yaml`);
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      assertRefused(runCli([command, fifo], { cwd: dir }), /a FIFO, not a regular file/);
      // Found inside a directory too.
      assertRefused(runCli([command, dir], { cwd: dir }), /a FIFO, not a regular file/);
    });
  }

  test('a file over --max-file-size is refused; at the limit it is read', () => {
    writeFiles(dir, { 'limit/pod.yaml': DENIED_POD });
    const size = Buffer.byteLength(DENIED_POD);
    assertRefused(
      runCli(['check', 'limit/pod.yaml', '--max-file-size', String(size - 1)], { cwd: dir }),
      /limit\/pod\.yaml: larger than \d+ bytes \(--max-file-size\)/,
    );
    assert.equal(runCli(['check', 'limit/pod.yaml', '--max-file-size', String(size)], { cwd: dir }).status, 1);
    assert.equal(runCli(['check', 'limit/pod.yaml', '--max-file-size', '1Ki'], { cwd: dir }).status, 1);
    assert.equal(runCli(['check', 'limit/pod.yaml', '--max-file-size', 'lots'], { cwd: dir }).status, 2);
  });

  test('stdin over the limit is refused', () => {
    const input = `${DENIED_POD}---\n`.repeat(Math.ceil(4096 / DENIED_POD.length));
    assertRefused(runCli(['check', '-', '--max-file-size', '4Ki'], { cwd: dir, input }), /-: larger than 4096 bytes/);
    assert.equal(runCli(['check', '-', '--max-file-size', '1Mi'], { cwd: dir, input }).status, 1);
  });

  test('a 100 MB JSON List hits the default limit: exit 2 in seconds, not an out-of-memory crash', () => {
    const item = JSON.stringify(
      JSON.parse(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'x' },
          spec: { containers: [{ name: 'a', image: 'i', command: ['sh', '-c', 'x'] }] },
        }),
      ),
    );
    const count = Math.ceil(100_000_000 / (item.length + 1));
    writeFileSync(join(dir, 'list.json'), `{"apiVersion":"v1","kind":"List","items":[${Array(count).fill(item).join(',')}]}`);
    const started = Date.now();
    assertRefused(runCli(['check', 'list.json'], { cwd: dir }), /list\.json: larger than 8388608 bytes/);
    assert.ok(Date.now() - started < 20_000);
  });

  test('fix refuses aliases that would be written out expanded past the limit; check reads the same file', () => {
    writeFiles(dir, { 'bomb.yaml': aliasBomb(999), 'few.yaml': aliasBomb(10) });
    assertRefused(runCli(['fix', 'bomb.yaml'], { cwd: dir }), /bomb\.yaml: its YAML aliases expand to more than 8388608 bytes/);
    assertRefused(runCli(['fix', '--write', 'bomb.yaml'], { cwd: dir }), /expand to more than/);
    const checked = runCli(['check', 'bomb.yaml'], { cwd: dir });
    assert.equal(checked.status, 0, checked.stderr);
    // An expansion within the limit is written.
    const fixed = runCli(['fix', 'few.yaml'], { cwd: dir });
    assert.equal(fixed.status, 0, fixed.stderr);
    assert.match(fixed.stdout, /FallbackToLogsOnError/);
  });
});
