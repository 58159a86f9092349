// The webhook as users meet it: the real kubectl, a real kube-apiserver calling the webhook over TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { BAD_DEPLOYMENT } from './harness/manifests.js';
import { eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

const GOOD_DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: good, namespace: apps}
spec:
  selector: {matchLabels: {app: good}}
  template:
    metadata: {labels: {app: good}}
    spec:
      containers:
        - name: web
          image: nginx
          command: ["nginx", "-g", "daemon off;"]
          readinessProbe: {httpGet: {path: /, port: 80}}
`;

function barePod(name: string, namespace: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  containers:
    - name: web
      image: nginx
      readinessProbe: {tcpSocket: {port: 80}}
`;
}

describe('webhook behind a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook | undefined;
  let dir: string;

  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });

  /** (Re)starts the webhook with a policy and points both webhook configurations at it. */
  async function serveWith(policy: string): Promise<void> {
    await webhook?.stop();
    writeFileSync(join(dir, 'policy.yaml'), policy);
    webhook = await startWebhook(['--cert-dir', dir, '--policy', join(dir, 'policy.yaml'), '--shutdown-delay', '0'], () =>
      join(dir, 'ca.crt'),
    );
    const { readFileSync } = await import('node:fs');
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations(webhook.url, readFileSync(join(dir, 'ca.crt'), 'utf8')) });
  }

  /** The API server picks configuration changes up asynchronously: wait until a known-bad object gets the expected answer. */
  async function waitForVerdict(denied: boolean): Promise<void> {
    await eventually(
      async () => {
        const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], BAD_DEPLOYMENT);
        return denied
          ? result.code !== 0 && result.stderr.includes('denied the request')
          : result.code === 0 && result.stderr.includes('Warning:');
      },
      30_000,
      denied ? 'the webhook to deny' : 'the webhook to warn',
    );
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-webhook-'));
    cluster = await startControlPlane();
    await cluster.kubectl(['create', 'namespace', 'apps']);
    await serveWith('mode: enforce\n');
    await waitForVerdict(true);
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl apply of a shell-form Deployment without readiness probe is denied, naming both rules', async () => {
    const result = await kubectl(['apply', '-f', '-'], BAD_DEPLOYMENT);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /denied the request/);
    assert.match(result.stderr, /no-shell-entrypoint/);
    assert.match(result.stderr, /require-readiness-probe/);
    assert.match(result.stderr, /Fix:/);
    const stored = await kubectl(['get', 'deployment', 'bad', '-n', 'apps']);
    assert.notEqual(stored.code, 0, 'nothing was stored');
    assert.match(stored.stderr, /NotFound/);
  });

  test('a compliant Deployment is created', async () => {
    const result = await kubectl(['apply', '-f', '-'], GOOD_DEPLOYMENT);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /deployment.apps\/good created/);
  });

  test('a bare Pod is stored with the preStop delay and FallbackToLogsOnError (after API server defaulting)', async () => {
    const created = await kubectl(['apply', '-f', '-'], barePod('bare', 'apps'));
    assert.equal(created.code, 0, created.stderr);
    const pod = JSON.parse((await cluster.kubectl(['get', 'pod', 'bare', '-n', 'apps', '-o', 'json'])).stdout);
    const [container] = pod.spec.containers;
    assert.deepEqual(container.lifecycle, { preStop: { sleep: { seconds: 5 } } });
    assert.equal(container.terminationMessagePolicy, 'FallbackToLogsOnError');
    assert.equal(pod.spec.terminationGracePeriodSeconds, 30);
  });

  test('kubectl apply --dry-run=server gives the same verdict and stores nothing', async () => {
    const denied = await kubectl(['apply', '--dry-run=server', '-f', '-'], BAD_DEPLOYMENT);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied the request/);
    const allowed = await kubectl(['apply', '--dry-run=server', '-f', '-'], barePod('dry', 'apps'));
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /created \(server dry run\)/);
    const stored = await kubectl(['get', 'pod', 'dry', '-n', 'apps']);
    assert.notEqual(stored.code, 0);
  });

  test('objects in kube-system are untouched', async () => {
    const pod = await kubectl(['apply', '-f', '-'], barePod('system-pod', 'kube-system'));
    assert.equal(pod.code, 0, pod.stderr);
    const stored = JSON.parse((await cluster.kubectl(['get', 'pod', 'system-pod', '-n', 'kube-system', '-o', 'json'])).stdout);
    assert.equal(stored.spec.containers[0].lifecycle, undefined);
    assert.equal(stored.spec.containers[0].terminationMessagePolicy, 'File');
    const deployment = await kubectl(['apply', '-f', '-'], BAD_DEPLOYMENT.replace('namespace: apps', 'namespace: kube-system'));
    assert.equal(deployment.code, 0, deployment.stderr);
  });

  test('in audit mode the same bad Deployment applies, with Warning: lines naming the rules', async () => {
    await serveWith('mode: audit\n');
    await waitForVerdict(false);
    const result = await kubectl(['apply', '-f', '-'], BAD_DEPLOYMENT);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: \[no-shell-entrypoint\] container "web"/);
    assert.match(result.stderr, /Warning: \[require-readiness-probe\] container "web"/);
    await cluster.kubectl(['delete', 'deployment', 'bad', '-n', 'apps']);
    await serveWith('mode: enforce\n');
    await waitForVerdict(true);
  });

  test('with the webhook stopped, failurePolicy Ignore admits the object unchecked (as the README says)', async () => {
    assert.equal(await webhook?.stop(), 0, 'the webhook exits 0 on SIGTERM');
    webhook = undefined;
    const result = await kubectl(['apply', '-f', '-'], BAD_DEPLOYMENT);
    assert.equal(result.code, 0, result.stderr);
    const pod = await kubectl(['apply', '-f', '-'], barePod('unmutated', 'apps'));
    assert.equal(pod.code, 0, pod.stderr);
    const stored = JSON.parse((await cluster.kubectl(['get', 'pod', 'unmutated', '-n', 'apps', '-o', 'json'])).stdout);
    assert.equal(stored.spec.containers[0].lifecycle, undefined, 'not mutated while the webhook is down');
  });
});
