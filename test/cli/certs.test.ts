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
    assert.equal(serving.checkIP('::1'), '::1', 'the same local names as the certificate of `npm start`');
  });

  test('the EC serving certificate is for signing only: no keyEncipherment', () => {
    const out = join(dir, 'usage');
    assert.equal(spawnSync(process.execPath, cliArgv(['certs', '--out', out])).status, 0);
    // keyUsage (OID 2.5.29.15) in the DER: a BIT STRING whose first byte has bit 0x80 digitalSignature, 0x20 keyEncipherment.
    const der = new X509Certificate(readFileSync(join(out, 'tls.crt'))).raw;
    const extension = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]));
    assert.ok(extension > 0, 'has keyUsage');
    const bitString = der.indexOf(Buffer.from([0x03, 0x02]), extension);
    const bits = der[bitString + 3] ?? 0;
    assert.ok(bits & 0x80, 'digitalSignature');
    assert.equal(bits & 0x20, 0, 'no keyEncipherment');
  });

  test('an existing CA is not replaced without --force', () => {
    const out = join(dir, 'existing');
    assert.equal(spawnSync(process.execPath, cliArgv(['certs', '--out', out])).status, 0);
    const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
    const refused = spawnSync(process.execPath, cliArgv(['certs', '--out', out]), { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /already holds ca\.crt, tls\.crt, tls\.key.*--force/);
    assert.equal(readFileSync(join(out, 'ca.crt'), 'utf8'), ca);
    assert.equal(spawnSync(process.execPath, cliArgv(['certs', '--out', out, '--force'])).status, 0);
    assert.notEqual(readFileSync(join(out, 'ca.crt'), 'utf8'), ca);
  });

  test('--validity takes the one duration syntax, years included', () => {
    const out = join(dir, 'year');
    const result = spawnSync(process.execPath, cliArgv(['certs', '--out', out, '--validity', '1y']), { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const lifetimeDays = (Date.parse(new X509Certificate(readFileSync(join(out, 'tls.crt'))).validTo) - Date.now()) / 86_400_000;
    assert.ok(lifetimeDays > 364 && lifetimeDays <= 365, `about a year, got ${lifetimeDays}`);
  });

  test('a missing --out or a bad duration is a usage error (exit 2)', () => {
    assert.equal(spawnSync(process.execPath, cliArgv(['certs'])).status, 2);
    const bad = spawnSync(process.execPath, cliArgv(['certs', '--out', join(dir, 'x'), '--validity', 'soon']), { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /duration/);
  });
});
