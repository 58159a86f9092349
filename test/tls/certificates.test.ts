import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateCertificatesInChildProcess } from '../../src/tls/certificates.js';

const hosts = ['lifecycle-guard.lifecycle-guard.svc', '127.0.0.1'];

test('a child process makes a CA and a serving certificate it signed, for the hosts asked', async () => {
  const { ca, serving } = await generateCertificatesInChildProcess({ hosts, validityDays: 2 });
  const caCert = new X509Certificate(ca.cert);
  const servingCert = new X509Certificate(serving.cert);
  assert.ok(servingCert.verify(caCert.publicKey));
  assert.equal(servingCert.checkHost(hosts[0]!), hosts[0]);
  assert.equal(servingCert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.ok(servingCert.checkPrivateKey((await import('node:crypto')).createPrivateKey(serving.key)));
  // Renewing the serving certificate only: signed by the CA handed in.
  const renewed = await generateCertificatesInChildProcess({ hosts, validityDays: 1, ca });
  assert.equal(renewed.ca.cert, ca.cert);
  assert.ok(new X509Certificate(renewed.serving.cert).verify(caCert.publicKey));
});

test("the child process's error reaches the caller with what went wrong", async () => {
  await assert.rejects(generateCertificatesInChildProcess({ hosts: [] }), {
    message: 'cannot generate certificates: a serving certificate needs at least one host name',
  });
});

test('certificates made in a child process leave the certificate libraries out of the caller', () => {
  const loaded = (module: 'certificates' | 'generate', how: 'generateCertificatesInChildProcess' | 'generateCertificates') =>
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const certificates = await import(${JSON.stringify(fileURLToPath(new URL(`../../src/tls/${module}.ts`, import.meta.url)))});
         await certificates.${how}({ hosts: ['localhost'] });
         const { createRequire } = await import('node:module');
         console.log(Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node_modules/selfsigned/')));`,
      ],
      { encoding: 'utf8' },
    ).trim();
  assert.equal(loaded('certificates', 'generateCertificatesInChildProcess'), 'false');
  // The same check sees them when they are loaded here.
  assert.equal(loaded('generate', 'generateCertificates'), 'true');
});
