// Audit reports (issue 6): what already runs in the cluster, scanned in the background by `serve`
// and from a laptop by `lifecycle-guard audit`, against a real kube-apiserver.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './harness/browser.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import {
  clusterModeArgs,
  deploymentObject,
  MANIFESTS_BASE,
  policyConfigMap,
  SERVICE_ACCOUNT,
  SERVICE_ACCOUNT_USER,
} from './harness/manifests.js';
import { CLI, eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

const PODS_IN_BULK = 25;

const deployment = (name: string, namespace: string, compliant: boolean) =>
  deploymentObject(name, namespace, {
    terminationGracePeriodSeconds: 30,
    containers: [
      compliant
        ? {
            name: 'web',
            image: 'nginx',
            readinessProbe: { tcpSocket: { port: 80 } },
            lifecycle: { preStop: { sleep: { seconds: 5 } } },
            terminationMessagePolicy: 'FallbackToLogsOnError',
          }
        : { name: 'web', image: 'nginx', command: ['sh', '-c', 'nginx'] },
    ],
  });

const pod = (name: string, namespace: string, owner?: { kind: string; name: string; uid: string; apiVersion: string }) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}) },
  spec: { containers: [{ name: 'app', image: 'busybox', command: ['/bin/app'] }] },
});

const list = (items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

interface Report {
  metadata: { namespace: string; name: string };
  summary: { pass: number; fail: number; warn: number };
  results: { rule: string; result: string; resources: { kind: string; name: string }[]; properties: { container: string } }[];
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('audit reports against a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook;
  let dir: string;

  const reports = async (resource = 'policyreports.wgpolicyk8s.io'): Promise<Map<string, Report>> => {
    const items: Report[] = JSON.parse((await cluster.kubectl(['get', resource, '-A', '-o', 'json'])).stdout).items;
    return new Map(items.map((report) => [report.metadata.namespace, report]));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-audit-'));
    cluster = await startControlPlane({ users: [SERVICE_ACCOUNT_USER] });
    for (const namespace of ['team-a', 'team-b', 'team-c']) await cluster.kubectl(['create', 'namespace', namespace]);
    // Workloads that ran before the webhook was registered.
    await cluster.kubectl(['apply', '-f', '-'], {
      input: list([deployment('legacy', 'team-a', false), deployment('tidy', 'team-b', true)]),
    });
    const owner = JSON.parse((await cluster.kubectl(['get', 'deployment', 'legacy', '-n', 'team-a', '-o', 'json'])).stdout);
    const replicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'legacy-abc',
        namespace: 'team-a',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'legacy', uid: owner.metadata.uid, controller: true }],
      },
      spec: { selector: { matchLabels: { app: 'legacy' } }, template: owner.spec.template },
    };
    await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(replicaSet) });
    const ownedSet = JSON.parse((await cluster.kubectl(['get', 'replicaset', 'legacy-abc', '-n', 'team-a', '-o', 'json'])).stdout);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: list([
        pod('legacy-abc-1', 'team-a', { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'legacy-abc', uid: ownedSet.metadata.uid }),
        ...Array.from({ length: PODS_IN_BULK }, (_, index) => pod(`bulk-${index}`, 'team-c')),
      ]),
    });

    for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml'])
      await cluster.kubectl(['apply', '-f', join(MANIFESTS_BASE, file)]);
    await cluster.kubectl(['apply', '-k', join(MANIFESTS_BASE, '..', 'crds')]);
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/policyreports.wgpolicyk8s.io', 'crd/reports.openreports.io']);
    // A page size well below the object count: the scan must follow `continue`.
    await cluster.kubectl(['apply', '-f', '-'], { input: policyConfigMap('scan:\n  interval: 1h\n  pageSize: 10\n') });
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations('https://127.0.0.1:1') });
    webhook = await startWebhook(clusterModeArgs(await cluster.kubeconfigFor(SERVICE_ACCOUNT), dir), () => join(dir, 'ca.crt'), {
      ...process.env,
      POD_NAME: 'lifecycle-guard-e2e-0',
    });
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the background scan writes one PolicyReport per namespace, read back with kubectl', async () => {
    await eventually(async () => (await reports()).size === 3, 60_000, 'three PolicyReports');
    const byNamespace = await reports();
    const teamA = byNamespace.get('team-a');
    assert.ok(teamA);
    assert.equal(teamA.metadata.name, 'lifecycle-guard');
    const rules = teamA.results
      .map((result) => `${result.rule}:${result.result}:${result.resources[0]?.kind}/${result.resources[0]?.name}`)
      .sort();
    assert.deepEqual(
      rules,
      [
        'inject-prestop-delay:fail:Deployment/legacy',
        'no-shell-entrypoint:fail:Deployment/legacy',
        'require-readiness-probe:fail:Deployment/legacy',
        'termination-message-fallback:fail:Deployment/legacy',
      ],
      'the ReplicaSet and Pod owned by the Deployment are not reported again',
    );
    assert.equal(teamA.summary.fail, 4);
    assert.deepEqual(byNamespace.get('team-b')?.summary, { pass: 1, fail: 0, warn: 0, error: 0, skip: 0 });
    assert.deepEqual(byNamespace.get('team-b')?.results ?? [], []);
    assert.equal(byNamespace.get('lifecycle-guard'), undefined, 'the webhook namespace is excluded');
  });

  test('pagination: every one of the objects is scanned with a page size smaller than the count', async () => {
    const teamC = (await reports()).get('team-c');
    assert.ok(teamC);
    const pods = new Set(teamC.results.map((result) => result.resources[0]?.name));
    assert.equal(pods.size, PODS_IN_BULK);
    assert.equal(teamC.summary.fail, PODS_IN_BULK * 3, 'readiness probe, preStop delay and termination message, per Pod');
  });

  test('GET /reports returns the latest scan as JSON', async () => {
    const report = await (await fetch(`${webhook.metricsUrl}/reports`)).json();
    assert.deepEqual(report.namespaces, ['team-a', 'team-b', 'team-c']);
    assert.equal(report.summary.objects, 2 + PODS_IN_BULK);
    assert.ok(
      report.findings.some(
        (finding: { name: string; rule: string }) => finding.name === 'legacy' && finding.rule === 'no-shell-entrypoint',
      ),
    );
  });

  test('a policy change triggers a new scan: audit mode, an excluded namespace, OpenReports', async () => {
    await cluster.kubectl(['apply', '-f', '-'], {
      input: policyConfigMap(
        'mode: audit\nexclude:\n  namespaces: [kube-system, kube-public, kube-node-lease, team-b]\nscan:\n  interval: 1h\n  pageSize: 10\n',
      ),
    });
    await eventually(
      async () => {
        const byNamespace = await reports();
        return byNamespace.get('team-a')?.summary.warn === 4 && !byNamespace.has('team-b');
      },
      60_000,
      'reports in audit mode, the stale team-b report removed',
    );
    assert.ok((await reports()).get('team-a')?.results.every((result) => result.result === 'warn'));

    await cluster.kubectl(['apply', '-f', '-'], {
      input: policyConfigMap('scan:\n  interval: 1h\n  pageSize: 10\n  reportFormat: OpenReports\n'),
    });
    await eventually(async () => (await reports('reports.openreports.io')).size === 3, 60_000, 'OpenReports Reports');
    const teamA = (await reports('reports.openreports.io')).get('team-a');
    assert.equal(teamA?.summary.fail, 4);
    assert.equal(teamA?.results[0]?.resources[0]?.name, 'legacy');
    await eventually(async () => (await reports()).size === 0, 30_000, 'the PolicyReports of the format no longer in use to be removed');
  });

  test('only the holder of the Lease writes reports; another replica takes over when it expires', async () => {
    const { pino } = await import('pino');
    const { createClients } = await import('../../src/kube/client.js');
    const { loadApiServerAccess } = await import('../../src/kube/kubeconfig.js');
    const { LeaderLease } = await import('../../src/kube/lease.js');
    const held = JSON.parse(
      (await cluster.kubectl(['get', 'lease', 'lifecycle-guard-reports', '-n', 'lifecycle-guard', '-o', 'json'])).stdout,
    );
    assert.equal(held.spec.holderIdentity, 'lifecycle-guard-e2e-0', 'the webhook that wrote the reports holds the lease');
    // Two more replicas compete for a lease of their own, with a short duration.
    const clients = createClients(loadApiServerAccess(cluster.kubeconfigPath));
    const replica = (identity: string) =>
      new LeaderLease(clients, {
        namespace: 'lifecycle-guard',
        name: 'lease-test',
        identity,
        durationSeconds: 2,
        logger: pino({ level: 'silent' }),
      });
    const [first, second] = [replica('replica-a'), replica('replica-b')];
    assert.equal(await first.tryAcquire(2), true, 'a free lease is acquired');
    assert.equal(await second.tryAcquire(2), false, 'a held lease is not taken');
    assert.equal(await first.tryAcquire(2), true, 'the holder renews');
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 2500));
    assert.equal(await second.tryAcquire(2), true, 'an expired lease is taken over');
    assert.equal(first.isLeader, true, 'until it tries again');
    assert.equal(await first.tryAcquire(2), false);
    const lease = JSON.parse((await cluster.kubectl(['get', 'lease', 'lease-test', '-n', 'lifecycle-guard', '-o', 'json'])).stdout);
    assert.equal(lease.spec.holderIdentity, 'replica-b');
  });

  test('`lifecycle-guard audit` from a laptop: table, JSON, PolicyReport YAML, exit codes', async () => {
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
    const table = await runCli(['audit', '--page-size', '10'], env);
    assert.equal(table.code, 1, table.stderr);
    assert.match(table.stdout, /namespace team-a\n {2}Deployment team-a\/legacy/);
    assert.match(table.stdout, /no-shell-entrypoint \[enforce\] container web/);

    const json = await runCli(['audit', '-o', 'json'], env);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.summary.objects, 2 + PODS_IN_BULK, 'owned ReplicaSet and Pod are not counted');
    assert.equal(parsed.summary.namespaces, 3);

    const yaml = await runCli(['audit', '-o', 'yaml', '--namespace', 'team-a'], env);
    assert.match(yaml.stdout, /apiVersion: wgpolicyk8s.io\/v1alpha2\n\s+kind: PolicyReport/);
    const clean = await runCli(['audit', '--namespace', 'team-b'], env);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    const unreachable = await runCli(['audit'], { ...process.env, KUBECONFIG: join(dir, 'missing-kubeconfig') });
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, /error: /);
  });

  test('the HTML report of the live cluster opens in headless Chromium with its chart and findings', async () => {
    const html = await runCli(['audit', '-o', 'html'], { ...process.env, KUBECONFIG: cluster.kubeconfigPath });
    assert.equal(html.code, 1);
    const artifacts = resolve('test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, 'audit-cluster.html');
    writeFileSync(file, html.stdout);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      page.on('request', (sent) => requests.push(sent.url()));
      await page.goto(pathToFileURL(file).href);
      assert.match(await page.title(), /lifecycle/i);
      const text = await page.locator('body').innerText();
      for (const expected of ['team-a', 'team-c', 'legacy', 'no-shell-entrypoint', 'bulk-0'])
        assert.ok(text.includes(expected), `report shows ${expected}`);
      assert.ok(await page.locator('svg').first().isVisible(), 'the chart is visible');
      assert.equal(
        await page.locator('tbody tr:visible').count(),
        JSON.parse((await runCli(['audit', '-o', 'json'], { ...process.env, KUBECONFIG: cluster.kubeconfigPath })).stdout).findings.length,
      );
      await page.screenshot({ path: join(artifacts, 'audit-cluster.png'), fullPage: true });
      assert.deepEqual(requests, [pathToFileURL(file).href], 'the report loads nothing else');
    } finally {
      await browser.close();
    }
  });
});
