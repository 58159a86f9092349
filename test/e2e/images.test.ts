// Image inspection (issue 9) behind a real kube-apiserver: kubectl apply of workloads whose PID 1 comes
// from an image in a loopback registry (Debian's Distribution registry, TLS from a test CA).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ensureRegistryInstalled, pushImage, startRegistry, USER, type RunningRegistry } from '../images/harness.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { deploymentObject, MANIFESTS_BASE } from './harness/manifests.js';
import { eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

function deployment(
  name: string,
  namespace: string,
  image: string,
  extra: Record<string, unknown> = {},
  podExtra: Record<string, unknown> = {},
): string {
  return JSON.stringify(
    deploymentObject(name, namespace, {
      ...podExtra,
      containers: [{ name: 'web', image, readinessProbe: { tcpSocket: { port: 8080 } }, ...extra }],
    }),
  );
}

interface Report {
  results: { rule: string; result: string; message: string; resources: { name: string }[] }[];
}

describe('image inspection behind a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let registry: RunningRegistry;
  let privateRegistry: RunningRegistry;
  let webhook: Webhook | undefined;
  let dir: string;
  let image: string;

  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });

  before(async () => {
    ensureRegistryInstalled();
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-images-'));
    [registry, privateRegistry, cluster] = await Promise.all([startRegistry('token'), startRegistry('htpasswd'), startControlPlane()]);
    image = `${registry.host}/shop/web:1`;
    await pushImage(registry, 'shop/web', '1', { entrypoint: ['/bin/sh', '-c', 'node server.js'] });
    await pushImage(privateRegistry, 'team/api', '1', { cmd: ['/bin/sh', '-c', '/app/api'] });
    for (const namespace of ['apps', 'legacy', 'lifecycle-guard']) await cluster.kubectl(['create', 'namespace', namespace]);
    await cluster.kubectl(['apply', '-k', join(MANIFESTS_BASE, '..', 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io']);
    // Ran before the webhook was registered: only the background scan can find it.
    await cluster.kubectl(['apply', '-f', '-'], { input: deployment('old', 'legacy', image) });
    await cluster.kubectl(['apply', '-f', '-'], { input: deployment('gone', 'legacy', `${registry.host}/shop/web:gone`) });
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    const dockerConfig = JSON.stringify({ auths: { [privateRegistry.host]: { auth } } });
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: 'pull', namespace: 'apps' },
      data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
    };
    await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(secret) });

    writeFileSync(join(dir, 'registry-ca.crt'), registry.ca);
    writeFileSync(join(dir, 'policy.yaml'), 'scan: {interval: 2s}\nrules:\n  no-shell-entrypoint:\n    images: {pullSecrets: true}\n');
    webhook = await startWebhook(
      ['--cert-dir', dir, '--policy', join(dir, 'policy.yaml'), '--kubeconfig', cluster.kubeconfigPath, '--shutdown-delay', '0'],
      () => join(dir, 'ca.crt'),
      { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'registry-ca.crt') },
    );
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations(webhook.url, readFileSync(join(dir, 'ca.crt'), 'utf8')) });
    await eventually(
      async () => {
        const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], deployment('probe', 'apps', image));
        return result.code !== 0 && result.stderr.includes('denied the request');
      },
      30_000,
      'the webhook to deny by image',
    );
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    await Promise.all([registry?.stop(), privateRegistry?.stop()]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a Deployment without `command` whose image has a shell-form ENTRYPOINT is denied, naming the image and the Dockerfile fix', async () => {
    const result = await kubectl(['apply', '-f', '-'], deployment('web', 'apps', image));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /denied the request/);
    assert.ok(result.stderr.includes(`from image ${image} (sha256:`), result.stderr);
    assert.ok(result.stderr.includes('Dockerfile `ENTRYPOINT node server.js` (shell form)'), result.stderr);
    assert.ok(result.stderr.includes('write `ENTRYPOINT ["node", "server.js"]` (exec form)'), result.stderr);
    assert.notEqual((await kubectl(['get', 'deployment', 'web', '-n', 'apps'])).code, 0, 'not created');
  });

  test('the same image with `command` overriding its ENTRYPOINT is admitted', async () => {
    const result = await kubectl(['apply', '-f', '-'], deployment('web', 'apps', image, { command: ['node', 'server.js'] }));
    assert.equal(result.code, 0, result.stderr);
  });

  test("a private image is inspected with the Pod's imagePullSecrets (policy pullSecrets: true)", async () => {
    const privateImage = `${privateRegistry.host}/team/api:1`;
    const without = await kubectl(['apply', '--dry-run=server', '-f', '-'], deployment('api', 'apps', privateImage));
    assert.equal(without.code, 0, 'not inspected without credentials: admitted');
    const withSecret = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      deployment('api', 'apps', privateImage, {}, { imagePullSecrets: [{ name: 'pull' }] }),
    );
    assert.notEqual(withSecret.code, 0);
    assert.ok(withSecret.stderr.includes('Dockerfile `CMD /app/api` (shell form)'), withSecret.stderr);
  });

  test('the background scan reports the image finding in a PolicyReport', async () => {
    let report: Report | undefined;
    await eventually(
      async () => {
        const result = await kubectl(['get', 'policyreport', 'lifecycle-guard', '-n', 'legacy', '-o', 'json']);
        if (result.code !== 0) return false;
        report = JSON.parse(result.stdout) as Report;
        return report.results.some((entry) => entry.rule === 'no-shell-entrypoint');
      },
      60_000,
      'a PolicyReport in namespace legacy',
    );
    const finding = report?.results.find((entry) => entry.rule === 'no-shell-entrypoint');
    assert.equal(finding?.result, 'fail');
    assert.equal(finding?.resources[0]?.name, 'old');
    assert.ok(finding?.message.includes(`from image ${image}`), finding?.message);
  });

  test('the scan lists the images it could not inspect, with why and where they are used (GET /reports)', async () => {
    let listed: { image: string; reason: string; usedBy: string[] }[] = [];
    await eventually(
      async () => {
        const body = await (await fetch(`${webhook?.metricsUrl}/reports`)).text();
        listed = (JSON.parse(body) as { uninspectedImages?: typeof listed }).uninspectedImages ?? [];
        return listed.length > 0;
      },
      30_000,
      'a scan with uninspected images',
    );
    const gone = listed.find((entry) => entry.image === `${registry.host}/shop/web:gone`);
    assert.match(gone?.reason ?? '', /not found/);
    assert.deepEqual(gone?.usedBy, ['Deployment legacy/gone']);
  });

  test('the image-pull-secrets overlay adds exactly `get` on Secrets to the base', async () => {
    const render = async (path: string) =>
      parseAllDocuments((await cluster.kubectl(['kustomize', path])).stdout).map(
        (document) => document.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[] },
      );
    const base = await render(MANIFESTS_BASE);
    const overlay = await render(join(MANIFESTS_BASE, '..', 'overlays', 'image-pull-secrets'));
    const added = overlay.filter(
      (object) => !base.some((other) => other.kind === object.kind && other.metadata.name === object.metadata.name),
    );
    assert.deepEqual(added.map((object) => `${object.kind}/${object.metadata.name}`).sort(), [
      'ClusterRole/lifecycle-guard-image-pull-secrets',
      'ClusterRoleBinding/lifecycle-guard-image-pull-secrets',
    ]);
    assert.deepEqual(added.find((object) => object.kind === 'ClusterRole')?.rules, [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    ]);
  });
});
