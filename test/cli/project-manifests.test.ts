// The project follows its own rules: its Deployment passes every rule even where it is not excluded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliArgv } from './run.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('lifecycle-guard check manifests/ is clean, with no namespace excluded and every opt-in rule enforced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lg-own-'));
  try {
    const policy = join(dir, 'strict.yaml');
    writeFileSync(
      policy,
      'exclude:\n  namespaces: []\nallowSkipAnnotation: false\nrules:\n  distinct-liveness-readiness: {mode: enforce}\n',
    );
    const result = spawnSync(process.execPath, cliArgv(['check', join(ROOT, 'manifests'), '--policy', policy, '-o', 'json']), {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.findings, [], 'no violation and nothing the mutating webhook would change');
    assert.ok(report.summary.objects > 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
