// Makes certificates with selfsigned. The libraries under it add ~12 MB to the RSS of the process that
// loads them, so the server never imports this module: its certificates are made in a child process
// (generateCertificatesInChildProcess, src/tls/generate-process.ts); `certs` imports it on demand.
import { isIP } from 'node:net';
import selfsigned from 'selfsigned';
import type { CertificateBundle, CertificateRequest, KeyPair } from './certificates.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function validity(days: number) {
  const now = Date.now();
  // Valid from a little earlier, to tolerate clock skew between nodes (a tenth for short lifetimes).
  const skew = Math.min(5 * 60 * 1000, (days * DAY_MS) / 10);
  return { notBeforeDate: new Date(now - skew), notAfterDate: new Date(now + days * DAY_MS) };
}

async function createCa(days: number): Promise<KeyPair> {
  // A name of its own per CA: during a rotation two CAs share the bundle, and TLS stacks look issuers up by name.
  const pems = await selfsigned.generate([{ name: 'commonName', value: `lifecycle-guard CA ${new Date().toISOString()}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(days),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A CA and a serving certificate signed by it (EC P-256, SHA-256). */
export async function generateCertificates(request: CertificateRequest): Promise<CertificateBundle> {
  const days = request.validityDays ?? 365;
  const [commonName] = request.hosts;
  if (commonName === undefined) throw new Error('a serving certificate needs at least one host name');
  // The CA outlives the serving certificates it signs, so a renewal does not change caBundle.
  const ca = request.ca ?? (await createCa(days * 2));
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(days),
    ca: { cert: ca.cert, key: ca.key },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      // EC keys sign (ECDHE); keyEncipherment applies to RSA key transport only.
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: request.hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
      },
    ],
  });
  return { ca, serving: { cert: pems.cert, key: pems.private } };
}
