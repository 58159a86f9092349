// A rule that fails (a bug, never a violation) is reported the same way by check and fix: one line
// naming file, line and rule, no stack trace, exit 2; fix then changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLEAN_DEPLOYMENT, DENIED_POD, runCli, tempDir, writeFiles } from './run.js';

const dir = tempDir('rule-failure');
// The failing object is the second document of the second file, on line 3.
writeFiles(dir, { 'a.yaml': CLEAN_DEPLOYMENT, 'b.yaml': `# leading comment\n---\n${DENIED_POD}` });

const line = (rule: string) => `error: b.yaml:3: rule ${rule} failed: broken for the test\n`;

function assertCleanFailure(result: { status: number | null; stderr: string }, rule: string): void {
  assert.equal(result.status, 2, result.stderr);
  assert.ok(result.stderr.includes(line(rule)), result.stderr);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
}

describe('a failing rule', () => {
  for (const rule of ['no-shell-entrypoint', 'inject-prestop-delay']) {
    test(`check reports ${rule} failing on one line and exits 2`, () => {
      assertCleanFailure(runCli(['check', 'a.yaml', 'b.yaml'], { cwd: dir, brokenRule: rule }), rule);
    });
  }

  test('fix reports it the same way, prints nothing and writes nothing', () => {
    const printed = runCli(['fix', 'a.yaml', 'b.yaml'], { cwd: dir, brokenRule: 'inject-prestop-delay' });
    assertCleanFailure(printed, 'inject-prestop-delay');
    assert.equal(printed.stdout, '');
    const before = readFileSync(join(dir, 'b.yaml'), 'utf8');
    assertCleanFailure(
      runCli(['fix', '--write', 'a.yaml', 'b.yaml'], { cwd: dir, brokenRule: 'inject-prestop-delay' }),
      'inject-prestop-delay',
    );
    assert.equal(readFileSync(join(dir, 'b.yaml'), 'utf8'), before);
  });

  test('a failing rule that fix does not run does not stop it', () => {
    const result = runCli(['fix', 'b.yaml'], { cwd: dir, brokenRule: 'no-shell-entrypoint' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /terminationMessagePolicy: FallbackToLogsOnError/);
  });
});
