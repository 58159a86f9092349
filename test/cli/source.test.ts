// CLI tests must exercise the source as it is, never a stale build: a copy of src/ with one rule
// broken (and no dist/ at all) answers differently through the very runner the CLI tests use.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, cpSync, existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DENIED_POD, runCli, tempDir, writeFiles } from './run.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('the CLI tests run the current source: a rule broken in the source changes what they see', () => {
  const copy = tempDir('source');
  cpSync(join(ROOT, 'src'), join(copy, 'src'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  appendFileSync(
    join(copy, 'src', 'rules', 'index.ts'),
    `\n// Broken by test/cli/source.test.ts.\nfor (const rule of RULES) if (rule.meta.id === 'no-shell-entrypoint') Object.assign(rule, { check: () => [] });\n`,
  );
  const work = tempDir('source-work');
  writeFiles(work, { 'denied.yaml': DENIED_POD });

  const current = runCli(['check', 'denied.yaml', '-o', 'json'], { cwd: work });
  const broken = runCli(['check', 'denied.yaml', '-o', 'json'], { cwd: work, root: copy });

  const rules = (stdout: string) => (JSON.parse(stdout) as { findings: { rule: string }[] }).findings.map((finding) => finding.rule);
  assert.ok(rules(current.stdout).includes('no-shell-entrypoint'), current.stderr);
  assert.ok(!rules(broken.stdout).includes('no-shell-entrypoint'), broken.stderr);
  assert.ok(rules(broken.stdout).includes('require-readiness-probe'), 'the other rules still run from the copy');
  assert.ok(!existsSync(join(copy, 'dist')), 'nothing was built');
});
