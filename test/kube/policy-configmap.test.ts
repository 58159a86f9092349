import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { after, afterEach, describe, test } from 'node:test';
import { pino, type Logger } from 'pino';
import type { Policy } from '../../src/engine/policy.js';
import { loopbackClients } from './loopback-clients.js';
import { PolicyConfigMapWatcher, type PolicyConfigMapOptions } from '../../src/kube/policy-configmap.js';
import { apiError, eventually, FakeApiServer } from './fake-api.js';

const NAMESPACE = 'lifecycle-guard';
const NAME = 'lifecycle-guard-policy';

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

/** An API server on loopback that can be switched between down (connections reset) and up. */
class LoopbackApiServer {
  up = false;
  configMap: Record<string, unknown> | undefined;
  /** Sent as a DELETED event to the next watch, as the API server does for a watch from before the deletion. */
  deleted: Record<string, unknown> | undefined;
  lists = 0;
  readonly #watches = new Set<ServerResponse>();
  readonly server: Server = createServer((request, response) => {
    if (!this.up) {
      request.socket.destroy();
      return;
    }
    response.setHeader('content-type', 'application/json');
    if (new URL(request.url ?? '/', 'http://x').searchParams.get('watch') === 'true') {
      this.#watches.add(response);
      response.on('close', () => this.#watches.delete(response));
      response.flushHeaders();
      if (this.deleted) response.write(`${JSON.stringify({ type: 'DELETED', object: this.deleted })}\n`);
      return;
    }
    this.lists += 1;
    response.end(
      JSON.stringify({
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.lists) },
        items: this.configMap ? [this.configMap] : [],
      }),
    );
  });

  /** Down: open watches are cut and new connections reset. */
  down(): void {
    this.up = false;
    for (const watch of this.#watches) watch.destroy();
  }
}

function recordingLogger(lines: string[]): Logger {
  const record = (_fields: unknown, message?: string) => void lines.push(message ?? '');
  return { info: record, warn: record, error: record } as unknown as Logger;
}

/** A watcher of the ConfigMap on a loopback API server that starts down; both stop after the test. */
async function watcherOnLoopback(
  options: Pick<PolicyConfigMapOptions, 'retryMs' | 'maxRetryMs' | 'startTimeoutMs'>,
): Promise<{ api: LoopbackApiServer; watcher: PolicyConfigMapWatcher; lines: string[]; policies: { policy: Policy; source: string }[] }> {
  const api = new LoopbackApiServer();
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const lines: string[] = [];
  const policies: { policy: Policy; source: string }[] = [];
  const watcher = new PolicyConfigMapWatcher(loopbackClients(api.server), {
    namespace: 'lifecycle-guard',
    name: 'lifecycle-guard-policy',
    logger: recordingLogger(lines),
    onPolicy: (policy, source) => policies.push({ policy, source }),
    onInvalid: () => assert.fail('no policy was invalid'),
    ...options,
  });
  after(async () => {
    await watcher.stop();
    api.server.close();
    api.server.closeAllConnections();
  });
  return { api, watcher, lines, policies };
}

test('an unreachable API server is not a missing ConfigMap: retried with backoff, and the last good policy stays', async () => {
  const { api, watcher, lines, policies } = await watcherOnLoopback({ retryMs: 40, maxRetryMs: 160, startTimeoutMs: 60_000 });

  // Down at start: unreachable, nothing applied, and start waits for the ConfigMap (within startTimeoutMs).
  let started = false;
  const starting = watcher.start().then(() => (started = true));
  await eventually(() => lines.length >= 1, 'the failure log', 5000);
  assert.equal(policies.length, 0);
  assert.doesNotMatch(lines.join('\n'), /not found/);
  assert.match(
    lines[0] ?? '',
    /^cannot read policy ConfigMap lifecycle-guard\/lifecycle-guard-policy: the API server is unreachable \(.+\); the built-in default policy applies until it can be read; retrying in 0\.04s$/,
  );
  await eventually(() => lines.length >= 3, 'two retries', 5000);
  assert.match(lines[1] ?? '', /retrying in 0\.08s$/, 'the delay doubles');
  assert.match(lines[2] ?? '', /retrying in 0\.16s$/);

  // Up: the policy is read.
  api.configMap = {
    metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard', resourceVersion: '7' },
    data: { 'policy.yaml': 'mode: audit\n' },
  };
  assert.equal(started, false, 'start waits while the API server is unreachable');
  api.up = true;
  await starting;
  assert.equal(policies.length, 1, 'start resolves with the policy applied');
  assert.equal(policies[0]?.policy.mode, 'audit');

  // Down again: the last good policy stays, and the log says so.
  const before = lines.length;
  api.down();
  await eventually(() => lines.slice(before).some((line) => line.startsWith('cannot read')), 'the failure log', 5000);
  assert.match(
    lines.slice(before).find((line) => line.startsWith('cannot read')) ?? '',
    /unreachable.*the last good policy stays in force; retrying in 0\.04s$/,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(policies.length, 1, 'no fallback to the default while unreachable');

  // Up, and the ConfigMap is gone for real: now the default applies, and the log says it is missing.
  api.deleted = { ...api.configMap, metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard', resourceVersion: '9' } };
  api.configMap = undefined;
  api.up = true;
  await eventually(() => policies.length === 2, 'the default policy', 5000);
  assert.equal(policies[1]?.source, 'built-in default');
  assert.ok(lines.some((line) => line === 'policy ConfigMap not found: using the built-in default policy'));
});

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

test('an API server unreachable for longer than startTimeoutMs: start resolves, the default policy serves, and reading goes on', async () => {
  const { api, watcher, lines, policies } = await watcherOnLoopback({ retryMs: 40, maxRetryMs: 80, startTimeoutMs: 300 });
  await watcher.start();
  assert.equal(policies.length, 0, 'nothing read: the server starts on the policy it has');
  assert.ok(lines.some((line) => /not read after 0\.3s: serving with the built-in default policy until it can be read$/.test(line)));
  api.configMap = {
    metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard', resourceVersion: '3' },
    data: { 'policy.yaml': 'mode: audit\n' },
  };
  api.up = true;
  await eventually(() => policies.length === 1, 'the ConfigMap read once the API server answers', 5000);
  assert.equal(policies[0]?.policy.mode, 'audit');
});
