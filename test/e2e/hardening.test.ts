// The shipped hardening on a real kube-apiserver: the NetworkPolicy, the Services and RBAC apply; report
// permissions are scoped by name; matchConditions keep skipped objects and the webhook's own
// ServiceAccount away from the webhook; Pods are not sent to /mutate on UPDATE.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { MANIFESTS_BASE, SERVICE_ACCOUNT } from './harness/manifests.js';
import { eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

function badPod(name: string, annotations: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'apps', annotations },
    spec: { containers: [{ name: 'web', image: 'nginx', command: ['sh', '-c', 'nginx'] }] },
  });
}

describe('hardened manifests on a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook;
  let dir: string;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });
  /** The webhook's log lines for one object name. */
  const calls = (name: string) =>
    webhook
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; name?: string; endpoint?: string; operation?: string })
      .filter((line) => line.msg === 'admission' && line.name === name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-hardening-'));
    cluster = await startControlPlane();
    for (const file of [
      'namespace.yaml',
      'serviceaccount.yaml',
      'rbac.yaml',
      'networkpolicy.yaml',
      'service.yaml',
      'metrics-service.yaml',
    ]) {
      await cluster.kubectl(['apply', '-f', join(MANIFESTS_BASE, file)]);
    }
    await cluster.kubectl(['apply', '-k', join(MANIFESTS_BASE, '..', 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io', 'crd/reports.openreports.io']);
    await cluster.kubectl(['create', 'namespace', 'apps']);
    writeFileSync(join(dir, 'policy.yaml'), 'mode: enforce\n');
    webhook = await startWebhook(
      ['--cert-dir', dir, '--policy', join(dir, 'policy.yaml'), '--shutdown-delay', '0', '--log-level', 'debug'],
      () => join(dir, 'ca.crt'),
    );
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations(webhook.url, readFileSync(join(dir, 'ca.crt'), 'utf8')) });
    await eventually(
      async () => (await kubectl(['apply', '--dry-run=server', '-f', '-'], badPod('probe'))).stderr.includes('denied the request'),
      30_000,
      'the webhook to deny',
    );
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the whole base applies on the server (dry run), the NetworkPolicy for real', async () => {
    const result = await kubectl(['apply', '--dry-run=server', '-k', MANIFESTS_BASE]);
    assert.equal(result.code, 0, result.stderr);
    const policy = JSON.parse(
      (await cluster.kubectl(['get', 'networkpolicy', '-n', 'lifecycle-guard', 'lifecycle-guard', '-o', 'json'])).stdout,
    );
    const metricsRule = policy.spec.ingress.find((rule: { ports: { port: string }[] }) => rule.ports[0]?.port === 'metrics');
    assert.deepEqual(metricsRule.from, [{ namespaceSelector: { matchLabels: { 'lifecycle-guard.io/metrics-access': 'allowed' } } }]);
  });

  test('report permissions: get, update and delete only the report named lifecycle-guard', async () => {
    const canI = async (verb: string, resource: string) =>
      (await kubectl(['auth', 'can-i', verb, resource, '-n', 'apps', `--as=${SERVICE_ACCOUNT}`])).stdout.trim();
    for (const resource of ['policyreports.wgpolicyk8s.io', 'reports.openreports.io']) {
      for (const verb of ['get', 'update', 'delete']) {
        assert.equal(await canI(verb, `${resource}/lifecycle-guard`), 'yes', `${verb} ${resource}/lifecycle-guard`);
        assert.equal(await canI(verb, `${resource}/someone-elses`), 'no', `${verb} ${resource}/someone-elses`);
      }
      assert.equal(await canI('create', resource), 'yes');
      assert.equal(await canI('list', resource), 'yes');
      assert.equal(await canI('patch', `${resource}/lifecycle-guard`), 'no');
    }
  });

  test('an object annotated lifecycle-guard.io/skip: all never reaches the webhook', async () => {
    const skipped = await kubectl(['apply', '-f', '-'], badPod('skipped', { 'lifecycle-guard.io/skip': 'all' }));
    assert.equal(skipped.code, 0, skipped.stderr);
    // A list of rule ids is still the webhook's to judge.
    const partial = await kubectl(['apply', '-f', '-'], badPod('partial', { 'lifecycle-guard.io/skip': 'no-shell-entrypoint' }));
    assert.notEqual(partial.code, 0);
    assert.match(partial.stderr, /require-readiness-probe/);
    assert.deepEqual(calls('skipped'), []);
    assert.ok(calls('partial').length > 0);
  });

  test("the webhook's own ServiceAccount is not sent to the webhook", async () => {
    await cluster.kubectl(['create', 'role', 'pod-writer', '-n', 'apps', '--verb=create', '--resource=pods']);
    await cluster.kubectl([
      'create',
      'rolebinding',
      'pod-writer',
      '-n',
      'apps',
      '--role=pod-writer',
      `--serviceaccount=lifecycle-guard:lifecycle-guard`,
    ]);
    const own = await kubectl(['create', '-f', '-', `--as=${SERVICE_ACCOUNT}`], badPod('own'));
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(calls('own'), []);
  });

  test('a Pod UPDATE goes to /validate only, not /mutate', async () => {
    const pod = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'updated', namespace: 'apps' },
      spec: { containers: [{ name: 'web', image: 'nginx', readinessProbe: { tcpSocket: { port: 80 } } }] },
    });
    assert.equal((await kubectl(['apply', '-f', '-'], pod)).code, 0);
    assert.equal((await kubectl(['label', 'pod', '-n', 'apps', 'updated', 'touched=yes'])).code, 0);
    const updates = calls('updated').filter((line) => line.operation === 'UPDATE');
    assert.deepEqual(
      updates.map((line) => line.endpoint),
      ['validate'],
    );
    assert.ok(calls('updated').some((line) => line.operation === 'CREATE' && line.endpoint === 'mutate'));
  });
});
