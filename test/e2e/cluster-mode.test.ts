// Running in a cluster (issue 5): TLS bootstrap through the API, caBundle, policy ConfigMap, RBAC.
// The webhook runs as a local process with the kubeconfig of its ServiceAccount, so every API call
// it makes is checked against the RBAC of manifests/base/rbac.yaml.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import {
  BAD_DEPLOYMENT,
  clusterModeArgs,
  MANIFESTS_BASE,
  policyConfigMap,
  SERVICE_ACCOUNT,
  SERVICE_ACCOUNT_USER,
} from './harness/manifests.js';
import { eventually, httpsGet, httpsGetText, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

describe('cluster mode against a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook;
  let dir: string;

  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });
  const verdict = async () => {
    const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], BAD_DEPLOYMENT);
    if (result.code !== 0 && result.stderr.includes('denied the request')) return 'denied';
    if (result.code === 0 && result.stderr.includes('Warning:')) return 'warned';
    return `unexpected: code ${result.code} ${result.stderr}`;
  };
  const secretData = async (): Promise<Record<string, string>> =>
    JSON.parse((await cluster.kubectl(['get', 'secret', 'lifecycle-guard-tls', '-n', 'lifecycle-guard', '-o', 'json'])).stdout).data;
  const caBundles = async (): Promise<string[]> =>
    Promise.all(
      ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration'].map(async (kind) => {
        const configuration = JSON.parse((await cluster.kubectl(['get', kind, 'lifecycle-guard', '-o', 'json'])).stdout);
        return configuration.webhooks[0].clientConfig.caBundle as string;
      }),
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-cluster-'));
    cluster = await startControlPlane({ users: [SERVICE_ACCOUNT_USER] });
    for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'policy-configmap.yaml']) {
      await cluster.kubectl(['apply', '-f', join(MANIFESTS_BASE, file)]);
    }
    await cluster.kubectl(['apply', '-k', join(MANIFESTS_BASE, '..', 'crds')]);
    await cluster.kubectl(['create', 'namespace', 'apps']);
    // Registered without caBundle: the webhook's TLS bootstrap writes it.
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations('https://127.0.0.1:1') });
    const args = [...clusterModeArgs(await cluster.kubeconfigFor(SERVICE_ACCOUNT), dir), '--cert-validity', '30s'];
    webhook = await startWebhook(args, () => join(dir, 'ca.crt'));
    // Point the configurations at the process, keeping the caBundle it wrote.
    for (const kind of ['mutatingwebhookconfiguration', 'validatingwebhookconfiguration']) {
      const path = kind.startsWith('mutating') ? '/mutate' : '/validate';
      await cluster.kubectl([
        'patch',
        kind,
        'lifecycle-guard',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/url', value: `${webhook.url}${path}` }]),
      ]);
    }
    await eventually(async () => (await verdict()) === 'denied', 30_000, 'the webhook to deny');
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('certificates are bootstrapped through the API: Secret, caBundle, and TLS the API server verifies', async () => {
    const secret = JSON.parse(
      (await cluster.kubectl(['get', 'secret', 'lifecycle-guard-tls', '-n', 'lifecycle-guard', '-o', 'json'])).stdout,
    );
    assert.equal(secret.type, 'kubernetes.io/tls');
    for (const key of ['ca.crt', 'tls.crt', 'tls.key']) assert.ok(secret.data[key], `Secret has ${key}`);
    const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    for (const name of ['lifecycle-guard.lifecycle-guard.svc', 'lifecycle-guard.lifecycle-guard.svc.cluster.local']) {
      assert.equal(serving.checkHost(name), name);
    }
    assert.deepEqual(await caBundles(), [secret.data['ca.crt'], secret.data['ca.crt']]);
    // failurePolicy is Ignore: a TLS failure would admit the object. A denial proves the API server
    // reached the webhook over TLS verified with the bootstrapped CA.
    assert.equal(await verdict(), 'denied');
  });

  test('kubectl apply -k manifests/ is accepted by the API server; the cert-manager overlay renders', async () => {
    const all = await kubectl(['apply', '-k', join(MANIFESTS_BASE, '..'), '--dry-run=server']);
    assert.equal(all.code, 0, all.stderr);
    for (const object of [
      'deployment.apps/lifecycle-guard',
      'service/lifecycle-guard',
      'poddisruptionbudget.policy/lifecycle-guard',
      'validatingwebhookconfiguration.admissionregistration.k8s.io/lifecycle-guard',
    ]) {
      assert.match(all.stdout, new RegExp(`${object.replace(/[./]/g, '\\$&')} (created|configured|unchanged) \\(server dry run\\)`));
    }
    const certManager = await kubectl(['kustomize', join(MANIFESTS_BASE, '..', 'overlays', 'cert-manager')]);
    assert.equal(certManager.code, 0, certManager.stderr);
    assert.equal((certManager.stdout.match(/cert-manager\.io\/inject-ca-from: lifecycle-guard\/lifecycle-guard-serving/g) ?? []).length, 2);
    assert.match(certManager.stdout, /--tls-cert=\/var\/run\/lifecycle-guard\/certs\/tls\.crt/);
    assert.match(certManager.stdout, /secretName: lifecycle-guard-serving/);
  });

  test('the webhook ServiceAccount can do what the code does and no more', async () => {
    const can = async (...args: string[]) =>
      (
        await kubectl([
          'auth',
          'can-i',
          ...args,
          `--as=${SERVICE_ACCOUNT}`,
          '--as-group=system:serviceaccounts',
          '--as-group=system:authenticated',
        ])
      ).stdout.trim();
    const allowed = [
      ['patch', 'mutatingwebhookconfigurations/lifecycle-guard'],
      ['get', 'validatingwebhookconfigurations/lifecycle-guard'],
      ['create', 'secrets', '-n', 'lifecycle-guard'],
      ['update', 'secrets/lifecycle-guard-tls', '-n', 'lifecycle-guard'],
      ['watch', 'configmaps/lifecycle-guard-policy', '-n', 'lifecycle-guard'],
      ['create', 'events', '-n', 'lifecycle-guard'],
      ['list', 'deployments', '--all-namespaces'],
      ['list', 'pods', '--all-namespaces'],
      ['update', 'policyreports.wgpolicyk8s.io', '-n', 'apps'],
      ['update', 'leases/lifecycle-guard-reports', '-n', 'lifecycle-guard'],
    ];
    const denied = [
      ['patch', 'mutatingwebhookconfigurations/other'],
      ['create', 'mutatingwebhookconfigurations'],
      ['get', 'secrets/other', '-n', 'lifecycle-guard'],
      ['list', 'secrets', '-n', 'lifecycle-guard'],
      ['get', 'secrets', '-n', 'apps'],
      ['delete', 'secrets/lifecycle-guard-tls', '-n', 'lifecycle-guard'],
      ['update', 'configmaps/lifecycle-guard-policy', '-n', 'lifecycle-guard'],
      ['get', 'configmaps/other', '-n', 'lifecycle-guard'],
      ['get', 'deployments', '-n', 'apps'],
      ['create', 'deployments', '-n', 'apps'],
      ['delete', 'pods', '-n', 'apps'],
      ['update', 'leases/other', '-n', 'lifecycle-guard'],
      ['*', '*'],
    ];
    for (const args of allowed) assert.equal(await can(...args), 'yes', `can ${args.join(' ')}`);
    for (const args of denied) assert.equal(await can(...args), 'no', `cannot ${args.join(' ')}`);
  });

  test('a ConfigMap change is applied without a restart', async () => {
    const pid = webhook.process.pid;
    await cluster.kubectl(['apply', '-f', '-'], { input: policyConfigMap('mode: audit\n') });
    await eventually(async () => (await verdict()) === 'warned', 20_000, 'audit mode from the ConfigMap');
    assert.equal(webhook.process.pid, pid);
    assert.equal(webhook.process.exitCode, null);
  });

  test('an invalid ConfigMap keeps the last good policy and produces an Event and a metric', async () => {
    await cluster.kubectl(['apply', '-f', '-'], { input: policyConfigMap('mode: bogus\n') });
    await eventually(
      async () => {
        const events = JSON.parse(
          (
            await cluster.kubectl([
              'get',
              'events',
              '-n',
              'lifecycle-guard',
              '--field-selector',
              'involvedObject.name=lifecycle-guard-policy',
              '-o',
              'json',
            ])
          ).stdout,
        );
        return events.items.some(
          (event: { reason: string; message: string }) => event.reason === 'InvalidPolicy' && event.message.includes('mode'),
        );
      },
      20_000,
      'the InvalidPolicy event',
    );
    assert.equal(await verdict(), 'warned', 'the last good policy (audit) stays in force');
    assert.match(webhook.output(), /policy refused/);
    const metrics = await httpsGetText(`${webhook.url}/metrics`, readFileSync(join(dir, 'ca.crt')));
    assert.match(metrics.body, /^lifecycle_guard_policy_reload_errors_total 1$/m);
    assert.match(metrics.body, /^lifecycle_guard_policy_reloads_total [1-9]/m);
    await cluster.kubectl(['apply', '-f', '-'], { input: policyConfigMap('mode: enforce\n') });
    await eventually(async () => (await verdict()) === 'denied', 20_000, 'enforce mode again');
  });

  test('a missing ConfigMap means the built-in default policy, and the log says so', async () => {
    await cluster.kubectl(['apply', '-f', '-'], { input: policyConfigMap('mode: audit\n') });
    await eventually(async () => (await verdict()) === 'warned', 20_000, 'audit mode from the ConfigMap');
    await cluster.kubectl(['delete', 'configmap', 'lifecycle-guard-policy', '-n', 'lifecycle-guard']);
    await eventually(async () => (await verdict()) === 'denied', 20_000, 'the default policy (enforce)');
    assert.match(webhook.output(), /policy ConfigMap not found: using the built-in default policy/);
    await cluster.kubectl(['apply', '-f', join(MANIFESTS_BASE, 'policy-configmap.yaml')]);
  });

  test('certificate rotation during a stream of kubectl applies fails no request', async () => {
    const before = await secretData();
    const failures: string[] = [];
    let requests = 0;
    let rotatedCa = false;
    let rotatedServing = false;
    // Serving certificates live 30s (renewed with 10s left), the CA 60s: both rotate within ~50s.
    const deadline = Date.now() + 75_000;
    while (Date.now() < deadline && !(rotatedCa && rotatedServing && requests > 20)) {
      const result = await verdict();
      requests += 1;
      if (result !== 'denied') failures.push(result);
      const now = await secretData();
      rotatedServing ||= now['tls.crt'] !== before['tls.crt'];
      rotatedCa ||= now['ca.crt'] !== before['ca.crt'];
    }
    assert.ok(rotatedServing, 'the serving certificate was renewed');
    assert.ok(rotatedCa, 'the CA was renewed');
    assert.deepEqual(failures, [], `every one of ${requests} requests was answered by the webhook`);
    const caBundle = Buffer.from((await secretData())['ca.crt'] ?? '', 'base64').toString();
    assert.ok((caBundle.match(/BEGIN CERTIFICATE/g) ?? []).length >= 1);
    assert.deepEqual(new Set(await caBundles()).size, 1);
    assert.equal(await httpsGet(`${webhook.url}/healthz`, caBundle), 200, 'the served certificate chains to the current bundle');
  });

  test('replicas that start together converge on one Secret', async () => {
    await cluster.kubectl(['delete', 'secret', 'lifecycle-guard-tls', '-n', 'lifecycle-guard']);
    const dirs = [mkdtempSync(join(tmpdir(), 'lg-replica-a-')), mkdtempSync(join(tmpdir(), 'lg-replica-b-'))];
    const kubeconfig = await cluster.kubeconfigFor(SERVICE_ACCOUNT);
    const replicas = await Promise.all(
      dirs.map((certDir) => startWebhook(clusterModeArgs(kubeconfig, certDir), () => join(certDir, 'ca.crt'))),
    );
    try {
      await eventually(
        async () => {
          const stored = Buffer.from((await secretData())['tls.crt'] ?? '', 'base64').toString();
          return dirs.every((certDir) => readFileSync(join(certDir, 'tls.crt'), 'utf8') === stored);
        },
        30_000,
        'every replica to serve the certificate in the Secret',
      );
      const secrets = JSON.parse((await cluster.kubectl(['get', 'secrets', '-n', 'lifecycle-guard', '-o', 'json'])).stdout).items;
      assert.equal(secrets.length, 1, 'one Secret, not one per replica');
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
      for (const certDir of dirs) rmSync(certDir, { recursive: true, force: true });
    }
  });
});
