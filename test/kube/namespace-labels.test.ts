import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { NamespaceLabelWatcher } from '../../src/kube/namespace-labels.js';
import { apiError, eventually, FakeApiServer } from './fake-api.js';

test('NamespaceLabelWatcher on the fake API: unknown until listed, a failed list retried, label changes followed', async () => {
  const api = new FakeApiServer();
  api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'payments' } } });
  api.put('namespaces', { metadata: { name: 'bare' } });
  let failures = 1;
  api.onCall((call) => {
    if (call.verb === 'list' && failures > 0) {
      failures -= 1;
      throw apiError(503, 'unavailable');
    }
  });
  const watcher = new NamespaceLabelWatcher(api.clients(), pino({ level: 'silent' }), 5);
  try {
    watcher.start();
    assert.equal(watcher.labels('shop'), undefined, 'unknown before the first list');
    await eventually(() => watcher.labels('shop') !== undefined, 'the list after the failed one');
    assert.deepEqual(watcher.labels('shop'), { team: 'payments' });
    assert.deepEqual(watcher.labels('bare'), {}, 'a namespace without labels has none, not unknown ones');
    assert.equal(watcher.labels('absent'), undefined);
    assert.deepEqual(watcher.all(), { shop: { team: 'payments' }, bare: {} }, 'every namespace, for reviews decided in the worker');
    assert.equal(api.calls.filter((call) => call.verb === 'list' && call.resource === 'namespaces').length, 2);

    api.put('namespaces', { metadata: { name: 'shop', labels: { team: 'checkout' } } });
    await eventually(() => watcher.labels('shop')?.team === 'checkout', 'the relabelled namespace');
    api.remove('namespaces', '', 'bare');
    await eventually(() => watcher.labels('bare') === undefined, 'the deleted namespace');
    assert.deepEqual(watcher.all(), { shop: { team: 'checkout' } });
  } finally {
    await watcher.stop();
  }
  assert.equal(api.openWatches, 0);
});
