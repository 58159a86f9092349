import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import selfsigned from 'selfsigned';
import { TlsBootstrap } from '../../src/kube/tls-bootstrap.js';
import { generateCertificates } from '../../src/tls/generate.js';
import { apiError, FakeApiServer } from './fake-api.js';

const NAMESPACE = 'lifecycle-guard';
const SECRET = 'lifecycle-guard-tls';
const CONFIGURATIONS = {
  mutatingwebhookconfigurations: 'lifecycle-guard-mutate',
  validatingwebhookconfigurations: 'lifecycle-guard-validate',
};
const DAY_MS = 86_400_000;

const directories: string[] = [];
after(() => directories.forEach((directory) => rmSync(directory, { recursive: true, force: true })));

function certDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'lg-tls-'));
  directories.push(directory);
  return directory;
}

/** A cluster with both webhook configurations (two webhooks each, no caBundle yet). */
function cluster(): FakeApiServer {
  const api = new FakeApiServer();
  for (const [resource, name] of Object.entries(CONFIGURATIONS)) {
    api.put(resource, {
      metadata: { name },
      webhooks: ['a', 'b'].map((webhook) => ({
        name: `${webhook}.lifecycle-guard.io`,
        clientConfig: { service: { name: 'lifecycle-guard', namespace: NAMESPACE } },
      })),
    });
  }
  return api;
}

function replica(api: FakeApiServer, directory = certDir()): TlsBootstrap {
  return new TlsBootstrap(api.clients(), {
    namespace: NAMESPACE,
    secretName: SECRET,
    serviceName: 'lifecycle-guard',
    mutatingWebhook: CONFIGURATIONS.mutatingwebhookconfigurations,
    validatingWebhook: CONFIGURATIONS.validatingwebhookconfigurations,
    certDir: directory,
    validityMs: 30 * DAY_MS,
    trustPropagationMs: 0,
    logger: pino({ level: 'silent' }),
  });
}

const decode = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString();
const certificates = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

function secretData(api: FakeApiServer): Record<string, string> {
  const data = api.get('secrets', NAMESPACE, SECRET)?.data as Record<string, string> | undefined;
  assert.ok(data, 'the Secret exists');
  return Object.fromEntries(Object.entries(data).map(([name, value]) => [name, decode(value)]));
}

/** The CAs each webhook of both configurations trusts, as fingerprints. */
function trusted(api: FakeApiServer): string[][] {
  return Object.entries(CONFIGURATIONS).flatMap(([resource, name]) =>
    (api.get(resource, '', name)?.webhooks as { clientConfig: { caBundle?: string } }[]).map((webhook) =>
      certificates(decode(webhook.clientConfig.caBundle)).map(fingerprint),
    ),
  );
}

/** True when `pem` was signed by one of the CAs of `bundle`. */
function signedByOneOf(pem: string, bundle: string[]): boolean {
  const certificate = new X509Certificate(pem);
  return bundle.some((ca) => certificate.verify(new X509Certificate(ca).publicKey));
}

/** What every replica needs at the end: one Secret, trusted by every webhook, served by every replica. */
function assertConverged(api: FakeApiServer, directories: string[]): void {
  const stored = secretData(api);
  const bundle = certificates(stored['ca.crt'] ?? '');
  assert.ok(signedByOneOf(stored['tls.crt'] ?? '', bundle.slice(0, 1)), 'the serving certificate is signed by the current CA');
  for (const webhook of trusted(api)) assert.deepEqual(webhook, bundle.map(fingerprint), 'every webhook trusts exactly the Secret bundle');
  for (const directory of directories) {
    assert.equal(readFileSync(join(directory, 'tls.crt'), 'utf8'), stored['tls.crt'], `${directory} serves the Secret certificate`);
    assert.equal(readFileSync(join(directory, 'tls.key'), 'utf8'), stored['tls.key']);
    assert.equal(readFileSync(join(directory, 'ca.crt'), 'utf8'), stored['ca.crt']);
  }
}

/** A CA with a day left of a ten-day life (inside the last third: due for rotation, still trusted). */
async function caDueForRotation() {
  const now = Date.now();
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'old lifecycle-guard CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 9 * DAY_MS),
    notAfterDate: new Date(now + DAY_MS),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A cluster whose Secret and caBundle hold a CA due for rotation and a serving certificate it signed. */
async function clusterDueForRotation() {
  const api = cluster();
  const ca = await caDueForRotation();
  const { serving } = await generateCertificates({ hosts: ['lifecycle-guard.lifecycle-guard.svc'], validityDays: 0.5, ca });
  const encode = (text: string) => Buffer.from(text).toString('base64');
  api.put('secrets', {
    metadata: { name: SECRET, namespace: NAMESPACE },
    type: 'kubernetes.io/tls',
    data: { 'ca.crt': encode(ca.cert), 'ca.key': encode(ca.key), 'tls.crt': encode(serving.cert), 'tls.key': encode(serving.key) },
  });
  for (const [resource, name] of Object.entries(CONFIGURATIONS)) {
    const configuration = api.get(resource, '', name)!;
    for (const webhook of configuration.webhooks as { clientConfig: { caBundle?: string } }[])
      webhook.clientConfig.caBundle = encode(ca.cert);
    api.put(resource, configuration);
  }
  return { api, oldCa: fingerprint(ca.cert) };
}

/**
 * Records every Secret write whose current CA some webhook did not trust yet (a window of failed
 * admissions). Only writes the API server accepts count: a replace with a stale resourceVersion (or a
 * create of a Secret that exists) is refused with 409 and serves nothing. Hooks run before the fake
 * applies the call, so the check is made here, against what is stored.
 */
function watchTrustOrder(api: FakeApiServer): string[] {
  const untrusted: string[] = [];
  api.onCall((call) => {
    if (call.resource !== 'secrets' || (call.verb !== 'create' && call.verb !== 'replace')) return;
    const stored = api.get('secrets', call.namespace, call.name);
    const sent = (call.body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    const accepted = call.verb === 'create' ? stored === undefined : stored?.metadata?.resourceVersion === sent;
    if (!accepted) return;
    const data = (call.body as { data: Record<string, string> }).data;
    const [current = ''] = certificates(decode(data['ca.crt']));
    if (!trusted(api).every((webhook) => webhook.includes(fingerprint(current)))) untrusted.push(call.verb);
  });
  return untrusted;
}

/** Holds calls matching `verb resource` until `count` of them wait, then lets them all go at once. */
function barrier(api: FakeApiServer, verb: string, resource: string, count: number): void {
  const waiting: (() => void)[] = [];
  let passed = false;
  api.onCall(async (call) => {
    if (passed || call.verb !== verb || call.resource !== resource) return;
    await new Promise<void>((release) => {
      waiting.push(release);
      if (waiting.length === count) {
        passed = true;
        waiting.forEach((go) => go());
      }
    });
  });
}

describe('TlsBootstrap against a fake API server', () => {
  test('first start: creates the Secret, sets caBundle on every webhook, writes the files', async () => {
    const api = cluster();
    const directory = certDir();
    await replica(api, directory).reconcile();
    assertConverged(api, [directory]);
    const served = new X509Certificate(secretData(api)['tls.crt'] ?? '');
    const hosts = ['lifecycle-guard', 'lifecycle-guard.lifecycle-guard', 'lifecycle-guard.lifecycle-guard.svc'];
    for (const host of [...hosts, 'lifecycle-guard.lifecycle-guard.svc.cluster.local']) assert.equal(served.checkHost(host), host);
    assert.equal(api.get('secrets', NAMESPACE, SECRET)?.type, 'kubernetes.io/tls');
  });

  test('trust before serving: caBundle holds the new CA before the Secret that serves it is written', async () => {
    const api = cluster();
    const untrusted = watchTrustOrder(api);
    await replica(api).reconcile();
    assert.equal(api.calls.filter((call) => call.verb === 'create' && call.resource === 'secrets').length, 1);
    assert.deepEqual(untrusted, []);
  });

  test('a reconcile with nothing to renew writes nothing', async () => {
    const api = cluster();
    const bootstrap = replica(api);
    await bootstrap.reconcile();
    const writes = api.calls.length;
    await bootstrap.reconcile();
    assert.deepEqual(
      api.calls.slice(writes).filter((call) => call.verb !== 'get'),
      [],
    );
  });

  test('two replicas starting at the same moment settle on one Secret', async () => {
    const api = cluster();
    barrier(api, 'create', 'secrets', 2);
    const directories = [certDir(), certDir()];
    await Promise.all(directories.map((directory) => replica(api, directory).reconcile()));
    assertConverged(api, directories);
    assert.equal(api.calls.filter((call) => call.verb === 'create' && call.resource === 'secrets').length, 2, 'both tried, one won');
  });

  test('two replicas rotating the CA at the same moment: one new CA wins, the old one stays trusted, nobody is left untrusted', async () => {
    const { api, oldCa } = await clusterDueForRotation();
    // Both read the old Secret, both patch caBundle, both replace the Secret: every step collides.
    barrier(api, 'replace', 'secrets', 2);
    const untrusted = watchTrustOrder(api);
    const directories = [certDir(), certDir()];
    await Promise.all(directories.map((directory) => replica(api, directory).reconcile()));
    assertConverged(api, directories);
    const bundle = certificates(secretData(api)['ca.crt'] ?? '').map(fingerprint);
    assert.equal(bundle.length, 2, 'the new CA and the old one, not the loser CA');
    assert.notEqual(bundle[0], oldCa);
    assert.equal(bundle[1], oldCa, 'certificates the old CA signed are still trusted during the overlap');
    assert.deepEqual(untrusted, [], 'no Secret was written before its CA was trusted');
  });

  test('two replicas patching caBundle between each other’s read and patch both get their CA trusted first', async () => {
    const { api } = await clusterDueForRotation();
    // Both read each configuration before either patches it: the second patch fails its resourceVersion test.
    barrier(api, 'get', 'mutatingwebhookconfigurations', 2);
    const untrusted = watchTrustOrder(api);
    const directories = [certDir(), certDir()];
    await Promise.all(directories.map((directory) => replica(api, directory).reconcile()));
    assertConverged(api, directories);
    assert.ok(
      api.calls.filter((call) => call.verb === 'patch' && call.resource === 'mutatingwebhookconfigurations').length >= 3,
      'the patch that lost the race was retried',
    );
    assert.deepEqual(untrusted, []);
  });

  test('a conflict on every write: reconcile gives up with a clear error after bounded attempts, serving nothing untrusted', async () => {
    const api = cluster();
    api.onCall((call) => {
      if (call.resource === 'secrets' && (call.verb === 'create' || call.verb === 'replace')) throw apiError(409, 'conflict');
    });
    const directory = certDir();
    await assert.rejects(
      replica(api, directory).reconcile(),
      /could not settle the TLS Secret lifecycle-guard\/lifecycle-guard-tls after 5 attempts/,
    );
    assert.equal(api.calls.filter((call) => call.verb === 'create' && call.resource === 'secrets').length, 5);
    assert.throws(() => readFileSync(join(directory, 'tls.crt')), { code: 'ENOENT' }, 'no certificate is served before it is stored');
  });

  test('a missing webhook configuration is skipped; the other still gets caBundle', async () => {
    const api = cluster();
    api.remove('mutatingwebhookconfigurations', '', CONFIGURATIONS.mutatingwebhookconfigurations);
    await replica(api).reconcile();
    const bundle = certificates(secretData(api)['ca.crt'] ?? '').map(fingerprint);
    const validating = api.get('validatingwebhookconfigurations', '', CONFIGURATIONS.validatingwebhookconfigurations);
    for (const webhook of validating?.webhooks as { clientConfig: { caBundle?: string } }[]) {
      assert.deepEqual(certificates(decode(webhook.clientConfig.caBundle)).map(fingerprint), bundle);
    }
  });

  test('other API errors surface', async () => {
    const api = cluster();
    api.onCall((call) => {
      if (call.resource === 'secrets') throw apiError(403, 'secrets is forbidden');
    });
    await assert.rejects(replica(api).reconcile(), /secrets is forbidden/);
  });
});
