import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../src/core/types.js';
import { findingsOf, flagged, mutateWith, pod, podSpecOf, WORKLOAD_KINDS, wrap } from './helpers.js';

const RULE = 'termination-message-fallback';
const FALLBACK = 'FallbackToLogsOnError';

function policies(object: JsonObject): Record<string, unknown> {
  const spec = podSpecOf(mutateWith(RULE, object).object);
  const all = [...((spec.initContainers as JsonObject[] | undefined) ?? []), ...((spec.containers as JsonObject[] | undefined) ?? [])];
  return Object.fromEntries(all.map((container) => [container.name as string, container.terminationMessagePolicy]));
}

describe('termination-message-fallback', () => {
  test('unset becomes FallbackToLogsOnError', () => {
    const mutation = mutateWith(RULE, pod([{ name: 'app', image: 'nginx' }]));
    assert.deepEqual(podSpecOf(mutation.object).containers, [{ name: 'app', image: 'nginx', terminationMessagePolicy: FALLBACK }]);
    assert.deepEqual(mutation.patch, [{ op: 'add', path: '/spec/containers/0/terminationMessagePolicy', value: FALLBACK }]);
  });

  test('File counts as unset', () => {
    const mutation = mutateWith(RULE, pod([{ name: 'app', terminationMessagePolicy: 'File' }]));
    assert.deepEqual(mutation.patch, [{ op: 'replace', path: '/spec/containers/0/terminationMessagePolicy', value: FALLBACK }]);
  });

  test('FallbackToLogsOnError is left alone', () => {
    assert.deepEqual(mutateWith(RULE, pod([{ name: 'app', terminationMessagePolicy: FALLBACK }])).patch, []);
    assert.deepEqual(flagged(RULE, pod([{ name: 'app', terminationMessagePolicy: FALLBACK }])), []);
  });

  test('every container: regular, native sidecar and run-to-completion init container', () => {
    const object = wrap('Deployment', {
      initContainers: [{ name: 'init' }, { name: 'sidecar', restartPolicy: 'Always', terminationMessagePolicy: 'File' }],
      containers: [{ name: 'app' }, { name: 'done', terminationMessagePolicy: FALLBACK }],
    });
    assert.deepEqual(flagged(RULE, object), ['app', 'init', 'sidecar']);
    assert.deepEqual(policies(object), { init: FALLBACK, sidecar: FALLBACK, app: FALLBACK, done: FALLBACK });
  });

  for (const kind of WORKLOAD_KINDS) {
    test(`${kind}: applies (run-to-completion workloads too)`, () => {
      const object = wrap(kind, {
        restartPolicy: kind === 'Job' || kind === 'CronJob' ? 'Never' : 'Always',
        containers: [{ name: 'main' }],
      });
      assert.deepEqual(policies(object), { main: FALLBACK });
    });
  }

  test('a Pod that never restarts gets it too', () => {
    assert.deepEqual(policies(wrap('Pod', { restartPolicy: 'Never', containers: [{ name: 'main' }] })), { main: FALLBACK });
  });

  test('message', () => {
    assert.deepEqual(
      findingsOf(RULE, pod([{ name: 'app' }])).map(({ container, message, type }) => ({ container, message, type })),
      [{ container: 'app', message: 'sets terminationMessagePolicy to FallbackToLogsOnError', type: 'mutating' }],
    );
  });

  test('idempotent', () => {
    const first = mutateWith(RULE, pod([{ name: 'a' }, { name: 'b', terminationMessagePolicy: 'File' }]));
    assert.equal(first.patch.length, 2);
    assert.deepEqual(mutateWith(RULE, first.object).patch, []);
  });

  test('other kinds are not changed', () => {
    for (const kind of ['PodTemplate', 'Rollout']) {
      assert.deepEqual(mutateWith(RULE, wrap(kind, { containers: [{ name: 'app' }] })).patch, [], kind);
    }
  });
});
