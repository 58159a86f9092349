// Policy exceptions behind a real kube-apiserver: the AdmissionReview carries no namespace labels, so
// the webhook watches namespaces; a relabelled namespace changes the verdict without a restart.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { BAD_DEPLOYMENT } from './harness/manifests.js';
import { eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

const POLICY = `exceptions:
- rules: [no-shell-entrypoint, require-readiness-probe]
  namespaceSelector: {matchLabels: {env: sandbox}}
  reason: sandbox namespaces
- rules: [all]
  workloads: [{namespace: apps, kind: Deployment, name: bad}]
  reason: expired long ago
  expires: 2020-01-01
`;

describe('policy exceptions behind a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook | undefined;
  let dir: string;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });
  const inNamespace = (namespace: string) => BAD_DEPLOYMENT.replace('namespace: apps', `namespace: ${namespace}`);
  const admitted = async (namespace: string) =>
    (await kubectl(['apply', '--dry-run=server', '-f', '-'], inNamespace(namespace))).code === 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-exceptions-'));
    cluster = await startControlPlane();
    await cluster.kubectl(['create', 'namespace', 'apps']);
    await cluster.kubectl(['create', 'namespace', 'play']);
    writeFileSync(join(dir, 'policy.yaml'), POLICY);
    // --kubeconfig gives the webhook cluster access, hence its namespace watch.
    webhook = await startWebhook(
      ['--cert-dir', dir, '--policy', join(dir, 'policy.yaml'), '--kubeconfig', cluster.kubeconfigPath, '--shutdown-delay', '0'],
      () => join(dir, 'ca.crt'),
    );
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations(webhook.url, readFileSync(join(dir, 'ca.crt'), 'utf8')) });
    await eventually(async () => !(await admitted('apps')), 30_000, 'the webhook to deny');
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('labelling a namespace env=sandbox lifts the rules there, and only there; removing the label brings them back', async () => {
    assert.equal(await admitted('play'), false);
    await cluster.kubectl(['label', 'namespace', 'play', 'env=sandbox']);
    await eventually(() => admitted('play'), 30_000, 'the sandbox namespace to be excepted');
    assert.equal(await admitted('apps'), false, 'an expired exception does not apply');
    await cluster.kubectl(['label', 'namespace', 'play', 'env-']);
    await eventually(async () => !(await admitted('play')), 30_000, 'the exception to stop applying');
  });

  test('check applies the same exceptions to files with the Namespace in them', async () => {
    const { CLI } = await import('./harness/webhook.js');
    const { spawnSync } = await import('node:child_process');
    writeFileSync(
      join(dir, 'play.yaml'),
      `apiVersion: v1\nkind: Namespace\nmetadata: {name: play, labels: {env: sandbox}}\n---\n${inNamespace('play')}`,
    );
    const result = spawnSync(process.execPath, [CLI, 'check', join(dir, 'play.yaml'), '--policy', join(dir, 'policy.yaml')], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /exception #2 \(all\): expired long ago: expired 2020-01-01, no longer applied/);
  });
});
