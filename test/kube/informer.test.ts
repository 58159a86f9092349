// The informer (list, then watch) against the in-memory API server: events into the cache, a watch the
// server ends resumed without a list, 410 Gone and ERROR events answered by a fresh list that reports
// deletions, failures handed to the owner, and silence after stop.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Informer } from '../../src/kube/informer.js';
import { eventually, FakeApiServer } from './fake-api.js';

type Namespace = { metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> } };

function namespaceInformer(api: FakeApiServer) {
  const clients = api.clients();
  const informer = new Informer<Namespace>('/api/v1/namespaces', clients.watch, () => clients.core.listNamespace());
  const seen: string[] = [];
  const errors: unknown[] = [];
  informer.on('add', (object) => seen.push(`add ${object.metadata?.name}`));
  informer.on('update', (object) => seen.push(`update ${object.metadata?.name} ${JSON.stringify(object.metadata?.labels ?? {})}`));
  informer.on('delete', (object) => seen.push(`delete ${object.metadata?.name}`));
  informer.on('error', (error) => errors.push(error));
  const calls = (verb: string) => api.calls.filter((call) => call.verb === verb).length;
  return { informer, seen, errors, calls };
}

const namespace = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });

test('listed objects, then watched changes, reach the cache and the listeners in order', async () => {
  const api = new FakeApiServer();
  api.put('namespaces', namespace('a'));
  const { informer, seen, calls } = namespaceInformer(api);
  await informer.start();
  assert.deepEqual(seen, ['add a']);
  api.put('namespaces', namespace('b'));
  api.put('namespaces', namespace('a', { env: 'prod' }));
  api.remove('namespaces', '', 'b');
  await eventually(() => seen.length === 4, 'the watched changes');
  assert.deepEqual(seen, ['add a', 'add b', 'update a {"env":"prod"}', 'delete b']);
  assert.deepEqual(informer.get('a')?.metadata?.labels, { env: 'prod' });
  assert.deepEqual(
    informer.list().map((object) => object.metadata?.name),
    ['a'],
  );
  assert.equal(calls('list'), 1);
  await informer.stop();
});

test('a watch the API server ends is resumed from the last resourceVersion, without a list and without losing changes', async () => {
  const api = new FakeApiServer();
  const { informer, seen, calls, errors } = namespaceInformer(api);
  await informer.start();
  api.put('namespaces', namespace('a'));
  await eventually(() => seen.length === 1, 'the first change');
  api.dropWatches(null);
  api.put('namespaces', namespace('b'));
  await eventually(() => calls('watch') === 2 && seen.length === 2, 'the resumed watch to deliver the change made while it was down');
  assert.deepEqual(seen, ['add a', 'add b']);
  assert.equal(calls('list'), 1, 'no second list');
  assert.deepEqual(errors, []);
  await informer.stop();
});

test('410 Gone: a fresh list, which reports what was deleted meanwhile and what changed', async () => {
  const api = new FakeApiServer();
  api.put('namespaces', namespace('a'));
  api.put('namespaces', namespace('b'));
  const { informer, seen, calls, errors } = namespaceInformer(api);
  await informer.start();
  // Down, then changes the informer never sees as events, then the history compacted away.
  api.onCall(async (call) => {
    if (call.verb === 'watch' && calls('watch') === 2) await new Promise((resolve) => setTimeout(resolve, 30));
  });
  api.dropWatches(null);
  api.remove('namespaces', '', 'a');
  api.put('namespaces', namespace('b', { env: 'dev' }));
  api.compact();
  await eventually(() => calls('list') === 2 && seen.length === 4, 'the relist after 410 Gone');
  assert.deepEqual(seen, ['add a', 'add b', 'delete a', 'update b {"env":"dev"}']);
  assert.deepEqual(errors, []);
  await informer.stop();
});

test('a failed watch goes to the error listeners and is not retried by the informer; start again resumes', async () => {
  const api = new FakeApiServer();
  const { informer, errors, calls, seen } = namespaceInformer(api);
  await informer.start();
  api.dropWatches(new Error('connection reset'));
  await eventually(() => errors.length === 1, 'the error');
  assert.match(String(errors[0]), /connection reset/);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(calls('watch'), 1, 'the owner decides when to retry');
  await informer.start();
  api.put('namespaces', namespace('c'));
  await eventually(() => seen.includes('add c'), 'the change after the restart');
  assert.equal(calls('list'), 1, 'resumed from the resourceVersion it had');
  await informer.stop();
});

test('after stop: the watch is closed and nothing more is reported', async () => {
  const api = new FakeApiServer();
  const { informer, seen, errors } = namespaceInformer(api);
  await informer.start();
  assert.equal(api.openWatches, 1);
  await informer.stop();
  assert.equal(api.openWatches, 0);
  api.put('namespaces', namespace('late'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(seen, []);
  assert.deepEqual(errors, [], 'stopping is not an error');
});

test('start while watching replaces the watch: one stays open, and closing the old one is not an error', async () => {
  const api = new FakeApiServer();
  const { informer, errors } = namespaceInformer(api);
  await informer.start();
  await informer.start();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(api.openWatches, 1);
  assert.deepEqual(errors, []);
  await informer.stop();
});
