import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { DEFAULT_POLICY, policyFromObject } from '../../src/engine/policy.js';
import { findingsOf, flagged, pod, wrap } from './helpers.js';

const RULE = 'distinct-liveness-readiness';
const http = (path: string, port = 8080) => ({ httpGet: { path, port } });

describe('distinct-liveness-readiness: identical handlers', () => {
  const same: [string, object, object][] = [
    ['httpGet', http('/healthz'), http('/healthz')],
    ['tcpSocket', { tcpSocket: { port: 8080 } }, { tcpSocket: { port: 8080 } }],
    ['exec', { exec: { command: ['/health'] } }, { exec: { command: ['/health'] } }],
    ['grpc', { grpc: { port: 9090 } }, { grpc: { port: 9090 } }],
    [
      'same handler, other timings',
      { ...http('/healthz'), periodSeconds: 30, failureThreshold: 6 },
      { ...http('/healthz'), periodSeconds: 5 },
    ],
  ];
  for (const [name, livenessProbe, readinessProbe] of same) {
    test(`flagged: ${name}`, () => {
      assert.deepEqual(flagged(RULE, pod([{ name: 'app', livenessProbe, readinessProbe }])), ['app']);
    });
  }

  const different: [string, object | undefined, object | undefined][] = [
    ['different paths', http('/alive'), http('/ready')],
    ['different ports', http('/healthz', 8080), http('/healthz', 8081)],
    ['different handler types', { tcpSocket: { port: 8080 } }, http('/healthz')],
    ['different exec commands', { exec: { command: ['/alive'] } }, { exec: { command: ['/ready'] } }],
    ['liveness only', http('/healthz'), undefined],
    ['readiness only', undefined, http('/healthz')],
  ];
  for (const [name, livenessProbe, readinessProbe] of different) {
    test(`not flagged: ${name}`, () => {
      const container = { name: 'app', ...(livenessProbe ? { livenessProbe } : {}), ...(readinessProbe ? { readinessProbe } : {}) };
      assert.deepEqual(flagged(RULE, pod([container])), []);
    });
  }

  test('native sidecars are checked, the message says what is wrong', () => {
    const object = wrap('DaemonSet', {
      initContainers: [{ name: 'proxy', restartPolicy: 'Always', livenessProbe: http('/'), readinessProbe: http('/') }],
      containers: [{ name: 'app', livenessProbe: http('/a'), readinessProbe: http('/r') }],
    });
    const findings = findingsOf(RULE, object);
    assert.deepEqual(
      findings.map((finding) => finding.container),
      ['proxy'],
    );
    assert.equal(findings[0]?.message, 'livenessProbe and readinessProbe run the same check');
  });
});

describe('distinct-liveness-readiness: opt-in', () => {
  const identical = pod([{ name: 'app', livenessProbe: http('/healthz'), readinessProbe: http('/healthz') }]);

  test('off in the default policy', () => {
    assert.deepEqual(
      evaluateObject(identical, DEFAULT_POLICY).findings.filter((finding) => finding.rule === RULE),
      [],
    );
  });

  test('off even when the global mode is enforce', () => {
    const policy = policyFromObject({ mode: 'enforce' }, 'test');
    assert.deepEqual(
      evaluateObject(identical, policy).findings.filter((finding) => finding.rule === RULE),
      [],
    );
  });

  for (const mode of ['audit', 'enforce'] as const) {
    test(`on with rules.${RULE}.mode: ${mode}`, () => {
      const policy = policyFromObject({ rules: { [RULE]: { mode } } }, 'test');
      const findings = evaluateObject(identical, policy).findings.filter((finding) => finding.rule === RULE);
      assert.deepEqual(
        findings.map((finding) => [finding.container, finding.mode, finding.type]),
        [['app', mode, 'validating']],
      );
    });
  }
});
