// Without a webhook: the exported admission policies enforce in the API server, and
// `serve --scan-only` (manifests/overlays/scan-only) still writes PolicyReports for what already runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { BAD_DEPLOYMENT, MANIFESTS_BASE, SERVICE_ACCOUNT, SERVICE_ACCOUNT_USER } from './harness/manifests.js';
import { CLI, eventually, startWebhook, type Webhook } from './harness/webhook.js';

const OVERLAY = join(MANIFESTS_BASE, '..', 'overlays', 'scan-only');

function post(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end('{}');
  });
}

describe('scan-only beside the exported admission policies', () => {
  let cluster: ControlPlane;
  let server: Webhook;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-scan-only-'));
    cluster = await startControlPlane({ users: [SERVICE_ACCOUNT_USER] });
    await cluster.kubectl(['create', 'namespace', 'apps']);
    // A workload that ran before the policies were bound.
    await cluster.kubectl(['apply', '-f', '-'], { input: BAD_DEPLOYMENT });
    await cluster.kubectl(['apply', '-k', OVERLAY]);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io']);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: execFileSync(process.execPath, [CLI, 'export'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    });
    server = await startWebhook(
      [
        '--scan-only',
        '--kubeconfig',
        await cluster.kubeconfigFor(SERVICE_ACCOUNT),
        '--namespace',
        'lifecycle-guard',
        '--policy-configmap',
        'lifecycle-guard/lifecycle-guard-policy',
        '--cert-dir',
        dir,
        '--shutdown-delay',
        '0',
      ],
      () => join(dir, 'ca.crt'),
      { ...process.env, POD_NAME: 'lifecycle-guard-e2e-0' },
    );
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the overlay installs no webhook configuration', async () => {
    for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
      assert.equal((await cluster.kubectl(['get', kind, '-o', 'name'])).stdout.trim(), '', kind);
    }
  });

  test('the API server denies with the exported policy; the scan reports what ran before, with the ServiceAccount RBAC', async () => {
    // The API server enforces a new ValidatingAdmissionPolicy once its informer has loaded the binding: ask until it does.
    let denied = { code: 0, stderr: '' };
    await eventually(
      async () => {
        denied = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], {
          input: BAD_DEPLOYMENT.replace('name: bad', 'name: bad-2'),
          allowFail: true,
        });
        return denied.code !== 0;
      },
      30_000,
      'the exported policy to deny',
    );
    assert.match(denied.stderr, /ValidatingAdmissionPolicy 'lifecycle-guard-(no-shell-entrypoint|require-readiness-probe)'/);
    await eventually(
      async () => {
        const reports = JSON.parse((await cluster.kubectl(['get', 'policyreports.wgpolicyk8s.io', '-n', 'apps', '-o', 'json'])).stdout)
          .items as Array<{ results?: Array<{ rule: string }> }>;
        return reports.some((report) => report.results?.some((result) => result.rule === 'no-shell-entrypoint'));
      },
      60_000,
      'a PolicyReport for the namespace apps',
    );
  });

  test('no admission routes are served', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    assert.equal(await post(`${server.url}/validate`, ca), 404);
    assert.equal(await post(`${server.url}/mutate`, ca), 404);
  });
});
