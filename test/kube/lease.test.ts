import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { LeaderLease } from '../../src/kube/lease.js';
import { apiError, FakeApiServer } from './fake-api.js';

const NAMESPACE = 'lifecycle-guard';
const NAME = 'lifecycle-guard-reports';

function replica(api: FakeApiServer, identity: string): LeaderLease {
  return new LeaderLease(api.clients(), {
    namespace: NAMESPACE,
    name: NAME,
    identity,
    durationSeconds: 60,
    logger: pino({ level: 'silent' }),
  });
}

/** The Lease as another replica wrote it, renewed at `renewTime`. */
function heldBy(api: FakeApiServer, identity: string, renewTime: Date, durationSeconds = 60): void {
  const existing = api.get('leases', NAMESPACE, NAME);
  api.put('leases', {
    metadata: { name: NAME, namespace: NAMESPACE, ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}) },
    spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime, acquireTime: renewTime },
  });
}

const holder = (api: FakeApiServer) =>
  api.get('leases', NAMESPACE, NAME)?.spec as { holderIdentity?: string; renewTime?: Date; acquireTime?: Date };

describe('LeaderLease against a fake API server', () => {
  test('a free Lease is created and held; the holder renews it and keeps its acquireTime', async () => {
    const api = new FakeApiServer();
    const a = replica(api, 'a');
    const start = new Date('2026-11-26T08:00:00.000Z');
    assert.equal(await a.tryAcquire(60, start), true);
    assert.equal(a.isLeader, true);
    assert.equal(holder(api).holderIdentity, 'a');
    const renewal = new Date(start.getTime() + 30_000);
    assert.equal(await a.tryAcquire(60, renewal), true);
    assert.equal(holder(api).renewTime?.getTime(), renewal.getTime());
    assert.equal(holder(api).acquireTime?.getTime(), start.getTime());
  });

  test('a held Lease is not taken before it expires; after, it is', async () => {
    const api = new FakeApiServer();
    const renewed = new Date('2026-11-26T08:00:00.000Z');
    heldBy(api, 'b', renewed, 60);
    const a = replica(api, 'a');
    assert.equal(await a.tryAcquire(60, new Date(renewed.getTime() + 59_000)), false);
    assert.equal(holder(api).holderIdentity, 'b');
    const later = new Date(renewed.getTime() + 61_000);
    assert.equal(await a.tryAcquire(60, later), true);
    assert.equal(holder(api).holderIdentity, 'a');
    assert.equal(holder(api).acquireTime?.getTime(), later.getTime(), 'a new holder starts its own term');
  });

  test('two replicas acquiring a free Lease at the same moment: exactly one leads', async () => {
    const api = new FakeApiServer();
    const [a, b] = [replica(api, 'a'), replica(api, 'b')];
    const results = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(holder(api).holderIdentity, a.isLeader ? 'a' : 'b');
  });

  test('two replicas taking over an expired Lease at the same moment: exactly one leads', async () => {
    const api = new FakeApiServer();
    heldBy(api, 'gone', new Date(Date.now() - 120_000));
    const [a, b] = [replica(api, 'a'), replica(api, 'b')];
    const results = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    assert.deepEqual(results.sort(), [false, true]);
  });

  test('a conflict on every write: never leader', async () => {
    const api = new FakeApiServer();
    api.onCall((call) => {
      if (call.verb === 'create' || call.verb === 'replace') throw apiError(409);
    });
    const a = replica(api, 'a');
    assert.equal(await a.tryAcquire(), false);
    heldBy(api, 'a', new Date());
    assert.equal(await a.tryAcquire(), false, 'not even for renewing its own Lease');
  });

  test('a leader that cannot renew (API error) stops leading', async () => {
    const api = new FakeApiServer();
    const a = replica(api, 'a');
    assert.equal(await a.tryAcquire(), true);
    api.onCall(() => {
      throw apiError(500, 'etcdserver: request timed out');
    });
    assert.equal(await a.tryAcquire(), false);
    assert.equal(a.isLeader, false);
  });
});
