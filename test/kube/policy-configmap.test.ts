import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Policy } from '../../src/engine/policy.js';
import { PolicyConfigMapWatcher } from '../../src/kube/policy-configmap.js';
import { apiError, FakeApiServer } from './fake-api.js';

const NAMESPACE = 'lifecycle-guard';
const NAME = 'lifecycle-guard-policy';

/** Polls until `condition` holds; fails with `what` after a second. */
async function eventually(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 1000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function configMap(policyText: string | undefined, extra: Record<string, string> = {}) {
  return {
    metadata: { name: NAME, namespace: NAMESPACE },
    data: { ...(policyText === undefined ? {} : { 'policy.yaml': policyText }), ...extra },
  };
}

const watchers: PolicyConfigMapWatcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((watcher) => watcher.stop()));
});

/** A watcher on the fake API that records what it was told: the mode of each policy, and each refusal. */
function watch(api: FakeApiServer) {
  const seen: { policies: { mode: Policy['mode']; source: string }[]; refused: string[] } = { policies: [], refused: [] };
  const watcher = new PolicyConfigMapWatcher(api.clients(), {
    namespace: NAMESPACE,
    name: NAME,
    logger: pino({ level: 'silent' }),
    onPolicy: (policy, source) => seen.policies.push({ mode: policy.mode, source }),
    onInvalid: (error) => seen.refused.push(error.message),
    retryMs: 5,
  });
  watchers.push(watcher);
  return { watcher, seen };
}

describe('PolicyConfigMapWatcher against a fake API server', () => {
  test('start resolves with the ConfigMap policy applied', async () => {
    const api = new FakeApiServer();
    api.put('configmaps', configMap('mode: audit\n'));
    api.put('configmaps', { metadata: { name: 'unrelated', namespace: NAMESPACE }, data: { 'policy.yaml': 'mode: off\n' } });
    const { watcher, seen } = watch(api);
    await watcher.start();
    assert.deepEqual(seen.policies, [{ mode: 'audit', source: `ConfigMap ${NAMESPACE}/${NAME}` }]);
  });

  test('a missing ConfigMap, or one without policy.yaml, means the built-in default', async () => {
    const api = new FakeApiServer();
    const { watcher, seen } = watch(api);
    await watcher.start();
    assert.deepEqual(seen.policies, [{ mode: 'enforce', source: 'built-in default' }]);
    api.put('configmaps', configMap('mode: audit\n'));
    await eventually(() => seen.policies.length === 2, 'the created ConfigMap');
    api.put('configmaps', configMap(undefined, { other: 'x' }));
    await eventually(() => seen.policies.length === 3, 'the emptied ConfigMap');
    assert.deepEqual(
      seen.policies.map(({ mode, source }) => [mode, source]),
      [
        ['enforce', 'built-in default'],
        ['audit', `ConfigMap ${NAMESPACE}/${NAME}`],
        ['enforce', 'built-in default'],
      ],
    );
  });

  test('changes apply from the watch; an unchanged policy text is not applied twice', async () => {
    const api = new FakeApiServer();
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    api.put('configmaps', configMap('mode: audit\n', { note: 'only another key changed' }));
    api.put('configmaps', configMap('mode: off\n'));
    await eventually(() => seen.policies.length === 2, 'the second policy');
    assert.deepEqual(
      seen.policies.map(({ mode }) => mode),
      ['audit', 'off'],
    );
    api.remove('configmaps', NAMESPACE, NAME);
    await eventually(() => seen.policies.length === 3, 'the deletion');
    assert.equal(seen.policies[2]?.source, 'built-in default');
  });

  test('an invalid policy is refused with an Event on the ConfigMap; the last good one stays', async () => {
    const api = new FakeApiServer();
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    api.put('configmaps', configMap('mode: sometimes\n'));
    await eventually(() => api.list('events').length === 1, 'the InvalidPolicy Event');
    assert.equal(seen.policies.length, 1, 'no policy replaced the good one');
    assert.match(seen.refused[0] ?? '', /invalid policy ConfigMap lifecycle-guard\/lifecycle-guard-policy key policy\.yaml: mode: /);
    const [event] = api.list('events');
    assert.equal(event?.reason, 'InvalidPolicy');
    assert.equal(event?.type, 'Warning');
    assert.deepEqual(event?.involvedObject, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: NAME,
      namespace: NAMESPACE,
      uid: api.get('configmaps', NAMESPACE, NAME)?.metadata?.uid,
    });
    assert.match(String(event?.message), /the last good policy stays in force$/);
  });

  test('a refused Event does not stop the watcher', async () => {
    const api = new FakeApiServer();
    api.onCall((call) => {
      if (call.resource === 'events') throw apiError(403, 'events is forbidden');
    });
    api.put('configmaps', configMap('mode: [\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    assert.equal(seen.refused.length, 1);
    api.put('configmaps', configMap('mode: audit\n'));
    await eventually(() => seen.policies.length === 1, 'the fixed policy');
  });

  test('a watch that drops resumes from where it was: a change made meanwhile arrives once', async () => {
    const api = new FakeApiServer();
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    const lists = () => api.calls.filter((call) => call.verb === 'list').length;
    assert.equal(lists(), 1);
    api.dropWatches();
    api.put('configmaps', configMap('mode: off\n'));
    await eventually(() => seen.policies.length === 2, 'the change made while the watch was down');
    assert.equal(seen.policies[1]?.mode, 'off');
    assert.equal(lists(), 1, 'resumed from its resourceVersion, without listing again');
    await eventually(() => api.openWatches === 1, 'the watch to be open again');
    api.put('configmaps', configMap('mode: enforce\n'));
    await eventually(() => seen.policies.length === 3, 'a change after the reconnect');
  });

  test('a watch that drops past compaction (410 Gone) lists again and sees a deletion it missed', async () => {
    const api = new FakeApiServer();
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    api.dropWatches();
    api.remove('configmaps', NAMESPACE, NAME);
    api.compact();
    await eventually(() => seen.policies.length === 2, 'the deletion found by the new list');
    assert.equal(seen.policies[1]?.source, 'built-in default');
    assert.equal(api.calls.filter((call) => call.verb === 'list').length, 2);
  });

  test('while the API server refuses the watch, the watcher keeps retrying; stop ends it', async () => {
    const api = new FakeApiServer();
    let refuse = true;
    api.onCall((call) => {
      if (refuse && call.verb === 'watch') throw apiError(503, 'unavailable');
    });
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    await eventually(() => api.calls.filter((call) => call.verb === 'watch').length >= 3, 'retries');
    refuse = false;
    await eventually(() => api.openWatches === 1, 'the watch after the outage');
    api.put('configmaps', configMap('mode: off\n'));
    await eventually(() => seen.policies.length === 2, 'a change after the outage');
    await watcher.stop();
    assert.equal(api.openWatches, 0);
    const calls = api.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(api.calls.length, calls, 'nothing is retried after stop');
  });

  test('a first list that fails is retried: start resolves with the configured policy, never the default in between', async () => {
    const api = new FakeApiServer();
    let failures = 2;
    api.onCall((call) => {
      if (call.verb === 'list' && failures > 0) {
        failures -= 1;
        throw apiError(500, 'etcdserver: leader changed');
      }
    });
    api.put('configmaps', configMap('mode: audit\n'));
    const { watcher, seen } = watch(api);
    await watcher.start();
    assert.deepEqual(seen.policies, [{ mode: 'audit', source: `ConfigMap ${NAMESPACE}/${NAME}` }]);
    assert.equal(api.calls.filter((call) => call.verb === 'list').length, 3);
  });
});
