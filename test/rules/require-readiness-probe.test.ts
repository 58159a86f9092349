import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findingsOf, flagged, LONG_RUNNING_KINDS, pod, wrap } from './helpers.js';

const RULE = 'require-readiness-probe';
const readinessProbe = { httpGet: { path: '/ready', port: 8080 } };
const livenessProbe = { httpGet: { path: '/alive', port: 8080 } };
const startupProbe = { tcpSocket: { port: 8080 } };

describe('require-readiness-probe: which containers need one', () => {
  test('a container without any probe', () => {
    assert.deepEqual(flagged(RULE, pod([{ name: 'app' }])), ['app']);
  });

  test('a container with a readinessProbe (any handler) passes', () => {
    for (const probe of [readinessProbe, { tcpSocket: { port: 1 } }, { exec: { command: ['/ready'] } }, { grpc: { port: 9090 } }]) {
      assert.deepEqual(flagged(RULE, pod([{ name: 'app', readinessProbe: probe }])), []);
    }
  });

  test('livenessProbe and startupProbe do not count', () => {
    const object = pod([
      { name: 'liveness', livenessProbe },
      { name: 'startup', startupProbe },
      { name: 'both', livenessProbe, startupProbe },
      { name: 'ready', readinessProbe },
    ]);
    assert.deepEqual(flagged(RULE, object), ['both', 'liveness', 'startup']);
  });

  test('native sidecars need one, run-to-completion init containers do not', () => {
    const object = wrap('Deployment', {
      initContainers: [
        { name: 'migrate' },
        { name: 'proxy', restartPolicy: 'Always' },
        { name: 'ready-proxy', restartPolicy: 'Always', readinessProbe },
      ],
      containers: [{ name: 'app', readinessProbe }],
    });
    const findings = findingsOf(RULE, object);
    assert.deepEqual(
      findings.map((finding) => finding.container),
      ['proxy'],
    );
    assert.equal(findings[0]?.message, 'native sidecar has no readinessProbe');
  });

  test('the message for a regular container', () => {
    assert.equal(findingsOf(RULE, pod([{ name: 'app' }]))[0]?.message, 'has no readinessProbe');
  });

  test('a readinessProbe that is not an object does not count (and does not throw)', () => {
    assert.deepEqual(
      flagged(
        RULE,
        pod([
          { name: 'a', readinessProbe: 'yes' },
          { name: 'b', readinessProbe: null },
          { name: 'c', readinessProbe: [] },
        ]),
      ),
      ['a', 'b', 'c'],
    );
  });
});

describe('require-readiness-probe: which workloads', () => {
  for (const kind of LONG_RUNNING_KINDS) {
    test(`${kind} is long-running: checked`, () => {
      assert.deepEqual(flagged(RULE, wrap(kind, { containers: [{ name: 'app' }, { name: 'ok', readinessProbe }] })), ['app']);
    });
  }

  test('Pod with restartPolicy Always is checked', () => {
    assert.deepEqual(flagged(RULE, wrap('Pod', { restartPolicy: 'Always', containers: [{ name: 'app' }] })), ['app']);
  });

  const exempt: [string, ReturnType<typeof wrap>][] = [
    ['Job', wrap('Job', { restartPolicy: 'Never', containers: [{ name: 'app' }] })],
    ['Job with OnFailure', wrap('Job', { restartPolicy: 'OnFailure', containers: [{ name: 'app' }] })],
    [
      'Job with a native sidecar',
      wrap('Job', { restartPolicy: 'Never', initContainers: [{ name: 'proxy', restartPolicy: 'Always' }], containers: [{ name: 'app' }] }),
    ],
    ['CronJob', wrap('CronJob', { restartPolicy: 'OnFailure', containers: [{ name: 'app' }] })],
    ['Pod with restartPolicy Never', wrap('Pod', { restartPolicy: 'Never', containers: [{ name: 'app' }] })],
    [
      'Pod with restartPolicy OnFailure',
      wrap('Pod', { restartPolicy: 'OnFailure', initContainers: [{ name: 's', restartPolicy: 'Always' }], containers: [{ name: 'app' }] }),
    ],
  ];
  for (const [name, object] of exempt) {
    test(`${name} is exempt`, () => {
      assert.deepEqual(flagged(RULE, object), []);
    });
  }

  test('other kinds produce nothing', () => {
    for (const kind of ['PodTemplate', 'Rollout', 'Service']) {
      assert.deepEqual(flagged(RULE, wrap(kind, { containers: [{ name: 'app' }] })), [], kind);
    }
  });
});
