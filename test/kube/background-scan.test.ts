import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { policyFromObject } from '../../src/engine/policy.js';
import { BackgroundScanner } from '../../src/kube/background-scan.js';
import { LeaderLease } from '../../src/kube/lease.js';
import { FakeApiServer } from './fake-api.js';

const NAMESPACE = 'lifecycle-guard';
const LEASE = 'lifecycle-guard-reports';
const REPORTS = 'policyreports.wgpolicyk8s.io';

/** A Deployment whose container runs `sh -c` (a violation of an enforced rule). */
function shellDeployment(namespace: string, name: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, uid: `uid-${namespace}-${name}` },
    spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx', command: ['sh', '-c', 'nginx'] }] } } },
  };
}

/** Waits until the fake has had no call for 30 ms: the scan, the Lease and the report writes are over. */
async function settled(api: FakeApiServer): Promise<void> {
  let seen = -1;
  while (seen !== api.calls.length) {
    seen = api.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
}

const scanners: BackgroundScanner[] = [];
afterEach(() => scanners.splice(0).forEach((scanner) => scanner.stop()));

function scanner(api: FakeApiServer, identity: string, policy = policyFromObject({ scan: { pageSize: 10 } }, 'test')) {
  const logger = pino({ level: 'silent' });
  const clients = api.clients();
  const lease = new LeaderLease(clients, { namespace: NAMESPACE, name: LEASE, identity, durationSeconds: 60, logger });
  const background = new BackgroundScanner(clients, { policy: () => policy, cluster: {}, lease, logger });
  scanners.push(background);
  return { background, lease };
}

describe('BackgroundScanner against a fake API server', () => {
  test('scans every page, keeps the result, and the Lease holder writes one report per namespace', async () => {
    const api = new FakeApiServer();
    for (let index = 0; index < 25; index += 1) api.put('deployments', shellDeployment('shop', `web-${String(index).padStart(2, '0')}`));
    api.put('deployments', shellDeployment('pay', 'ledger'));
    const { background, lease } = scanner(api, 'a');
    background.start();
    await settled(api);
    assert.equal(background.latest?.summary.objects, 26);
    assert.equal(
      api.calls.filter((call) => call.verb === 'list' && call.resource === 'deployments').length,
      3,
      '26 objects in pages of 10',
    );
    assert.equal(lease.isLeader, true);
    const reports = api.list(REPORTS);
    assert.deepEqual(reports.map((report) => report.metadata?.namespace).sort(), ['pay', 'shop']);
    const shop = reports.find((report) => report.metadata?.namespace === 'shop');
    assert.equal((shop?.summary as { fail: number }).fail, 25 * 4, 'per Deployment: shell, readiness probe, preStop, termination message');
  });

  test('a replica that does not hold the Lease scans but writes no report', async () => {
    const api = new FakeApiServer();
    api.put('deployments', shellDeployment('shop', 'web'));
    api.put('leases', {
      metadata: { name: LEASE, namespace: NAMESPACE },
      spec: { holderIdentity: 'b', leaseDurationSeconds: 60, renewTime: new Date(), acquireTime: new Date() },
    });
    const { background, lease } = scanner(api, 'a');
    background.start();
    await settled(api);
    assert.equal(background.latest?.summary.objects, 1);
    assert.equal(lease.isLeader, false);
    assert.deepEqual(api.list(REPORTS), []);
  });

  test('a Lease lost mid-scan: the scan finishes, its reports are not written over the new holder', async () => {
    const api = new FakeApiServer();
    api.put('deployments', shellDeployment('shop', 'web'));
    const { background, lease } = scanner(api, 'a');
    // First scan: 'a' leads and writes.
    background.start();
    await settled(api);
    assert.equal(lease.isLeader, true);
    const written = api.list(REPORTS).map((report) => report.metadata?.resourceVersion);
    // While the second scan lists, 'a' stalls past its Lease; 'b' takes the Lease over and writes its own report.
    let tookOver = false;
    api.onCall((call) => {
      if (tookOver || call.verb !== 'list' || call.resource !== 'pods') return;
      tookOver = true;
      const current = api.get('leases', NAMESPACE, LEASE)!;
      api.put('leases', { ...current, spec: { ...current.spec, holderIdentity: 'b', renewTime: new Date(), acquireTime: new Date() } });
    });
    background.trigger();
    await settled(api);
    assert.ok(tookOver);
    assert.equal(lease.isLeader, false, 'a knows it lost the Lease');
    assert.ok(background.latest !== undefined, 'GET /reports still answers with the finished scan');
    assert.deepEqual(
      api.list(REPORTS).map((report) => report.metadata?.resourceVersion),
      written,
      'no report was written after the Lease was lost',
    );
    assert.equal((api.get('leases', NAMESPACE, LEASE)?.spec as { holderIdentity: string }).holderIdentity, 'b');
  });

  test('triggers during a scan run one more scan, not one per trigger', async () => {
    const api = new FakeApiServer();
    api.put('deployments', shellDeployment('shop', 'web'));
    const { background } = scanner(api, 'a', policyFromObject({ scan: { reportFormat: 'none' } }, 'test'));
    background.start();
    background.trigger();
    background.trigger();
    background.trigger();
    await settled(api);
    assert.equal(api.calls.filter((call) => call.verb === 'list' && call.resource === 'deployments').length, 2);
    assert.equal(api.calls.filter((call) => call.resource === 'leases').length, 0, 'reportFormat none: no Lease is taken');
  });

  test('interval 0 turns the scan off; a failed scan keeps the last result', async () => {
    const api = new FakeApiServer();
    const off = scanner(api, 'a', policyFromObject({ scan: { interval: '0' } }, 'test'));
    off.background.start();
    await settled(api);
    assert.deepEqual(api.calls, []);

    api.put('deployments', shellDeployment('shop', 'web'));
    const { background } = scanner(api, 'b', policyFromObject({ scan: { reportFormat: 'none' } }, 'test'));
    background.start();
    await settled(api);
    const first = background.latest;
    assert.equal(first?.summary.objects, 1);
    api.onCall(() => {
      throw new Error('connection refused');
    });
    background.trigger();
    await settled(api);
    assert.equal(background.latest, first);
  });

  test('stop: no scan starts after it', async () => {
    const api = new FakeApiServer();
    const { background } = scanner(api, 'a');
    background.stop();
    background.start();
    background.trigger();
    await settled(api);
    assert.deepEqual(api.calls, []);
  });
  test('afterScan runs once per scan, when its reports are written, and after a failed scan too', async () => {
    const api = new FakeApiServer();
    api.put('deployments', shellDeployment('shop', 'web'));
    const logger = pino({ level: 'silent' });
    const clients = api.clients();
    const lease = new LeaderLease(clients, { namespace: NAMESPACE, name: LEASE, identity: 'a', durationSeconds: 60, logger });
    const reportsWhenCalled: number[] = [];
    const policy = policyFromObject({ scan: { pageSize: 10 } }, 'test');
    const background = new BackgroundScanner(clients, {
      policy: () => policy,
      cluster: {},
      lease,
      logger,
      afterScan: () => reportsWhenCalled.push(api.list(REPORTS).length),
    });
    scanners.push(background);
    background.start();
    await settled(api);
    assert.deepEqual(reportsWhenCalled, [1], 'after the report was written');
    api.onCall((call) => {
      if (call.verb === 'list') throw new Error('API server gone');
    });
    background.trigger();
    await settled(api);
    assert.deepEqual(reportsWhenCalled, [1, 1], 'after the failed scan');
  });
});
