import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliArgv } from './run.js';

describe('lifecycle-guard certs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lg-certs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('writes a CA and a serving certificate for the given hosts', () => {
    const out = join(dir, 'out');
    const result = spawnSync(
      process.execPath,
      cliArgv(['certs', '--out', out, '--hosts', 'webhook.example,10.0.0.7', '--validity', '30d']),
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const ca = new X509Certificate(readFileSync(join(out, 'ca.crt')));
    const serving = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    assert.ok(ca.ca);
    assert.ok(serving.verify(ca.publicKey), 'signed by the CA');
    assert.ok(serving.checkIssued(ca));
    assert.equal(serving.checkHost('webhook.example'), 'webhook.example');
    assert.equal(serving.checkIP('10.0.0.7'), '10.0.0.7');
    const lifetimeDays = (Date.parse(serving.validTo) - Date.now()) / 86_400_000;
    assert.ok(lifetimeDays > 29 && lifetimeDays <= 30, `about 30 days, got ${lifetimeDays}`);
    assert.equal(statSync(join(out, 'tls.key')).mode & 0o777, 0o600, 'the key is private');
  });

  test('defaults cover localhost and the in-cluster Service names', () => {
    const out = join(dir, 'defaults');
    assert.equal(spawnSync(process.execPath, cliArgv(['certs', '--out', out])).status, 0);
    const serving = new X509Certificate(readFileSync(join(out, 'tls.crt')));
    for (const host of ['localhost', 'lifecycle-guard.lifecycle-guard.svc', 'lifecycle-guard.lifecycle-guard.svc.cluster.local']) {
      assert.equal(serving.checkHost(host), host);
    }
    assert.equal(serving.checkIP('127.0.0.1'), '127.0.0.1');
  });

  test('a missing --out or a bad duration is a usage error (exit 2)', () => {
    assert.equal(spawnSync(process.execPath, cliArgv(['certs'])).status, 2);
    const bad = spawnSync(process.execPath, cliArgv(['certs', '--out', join(dir, 'x'), '--validity', 'soon']), { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /duration/);
  });
});
