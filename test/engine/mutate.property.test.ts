// Property test of mutateObject over random pod specs wrapped in random workload kinds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyPatch, type Operation as RfcOperation } from 'rfc6902';
import type { Finding, JsonObject } from '../../src/core/types.js';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import { policyFromObject, type Policy } from '../../src/engine/policy.js';
import { WORKLOAD_KINDS, wrap } from '../rules/helpers.js';

const script = fc.constantFrom(
  './server',
  'exec ./server',
  'set -e; exec ./server',
  'exec >/log 2>&1; ./server',
  'while true; do sleep 1; done',
  '',
);

const command = fc.oneof(
  fc.constant(['/app/server', '--port', '8080']),
  fc.constantFrom(['sh'], ['/bin/bash', '-e']),
  script.map((s) => ['sh', '-c', s]),
  fc
    .tuple(fc.constantFrom('/bin/sh', 'bash', '/usr/bin/zsh', 'dash'), fc.constantFrom('-c', '-lc', '-ec', '-xec'), script)
    .map(([shell, flag, s]) => [shell, flag, s]),
  script.map((s) => ['/usr/bin/env', 'bash', '-c', s]),
  script.map((s) => ['busybox', 'sh', '-c', s]),
  fc.constant(['tini', '--', '/app/server']),
  fc.constant(['dumb-init', '/app/server']),
  fc.constant('sh -c ./server'), // malformed: a string instead of a list
  fc.constant([]),
);

const args = fc.oneof(
  fc.constant(['--verbose']),
  script.map((s) => ['-c', s]),
  fc.constant(['sh', '-c', './server']),
);

const handler = fc.constantFrom<JsonObject>(
  { sleep: { seconds: 3 } },
  { exec: { command: ['sleep', '5'] } },
  { exec: { command: ['/bin/sh', '-c', 'sleep 5; /drain'] } },
  { httpGet: { path: '/drain', port: 8080 } },
);

const lifecycle = fc.oneof(
  fc.constant({}),
  handler.map((postStart) => ({ postStart })),
  handler.map((preStop) => ({ preStop })),
  fc.tuple(handler, handler).map(([postStart, preStop]) => ({ postStart, preStop })),
  fc.constant(null),
);

const probe = fc.constantFrom<JsonObject>(
  { httpGet: { path: '/healthz', port: 8080 } },
  { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
  { tcpSocket: { port: 8080 } },
  { exec: { command: ['sh', '-c', 'test -f /tmp/ready'] } },
  { grpc: { port: 9090 } },
);

const containerFields = fc.record(
  {
    image: fc.constantFrom('nginx', 'busybox', 'example/app'),
    command,
    args,
    lifecycle,
    terminationMessagePolicy: fc.constantFrom('File', 'FallbackToLogsOnError'),
    readinessProbe: probe,
    livenessProbe: probe,
    startupProbe: probe,
  },
  { requiredKeys: ['image'], noNullPrototype: true },
);

const initFields = fc
  .tuple(containerFields, fc.option(fc.constantFrom('Always', 'Never'), { nil: undefined }))
  .map(([fields, restartPolicy]) => (restartPolicy === undefined ? fields : { ...fields, restartPolicy }));

/** Names by position (some left out), so that findings can be told apart. */
function named(prefix: string, containers: JsonObject[], unnamed: number): JsonObject[] {
  return containers.map((fields, index) => (index === unnamed ? { ...fields } : { name: `${prefix}${index}`, ...fields }));
}

const podSpec = fc
  .record(
    {
      containers: fc.array(containerFields, { minLength: 0, maxLength: 3 }),
      initContainers: fc.array(initFields, { minLength: 0, maxLength: 3 }),
      terminationGracePeriodSeconds: fc.integer({ min: 0, max: 120 }),
      restartPolicy: fc.constantFrom('Always', 'Never', 'OnFailure'),
      unnamed: fc.integer({ min: -1, max: 3 }),
    },
    { requiredKeys: ['containers', 'unnamed'], noNullPrototype: true },
  )
  .map(({ containers, initContainers, unnamed, ...rest }) => ({
    ...rest,
    containers: named('c', containers, unnamed),
    ...(initContainers === undefined ? {} : { initContainers: named('i', initContainers, unnamed) }),
  }));

const metadata = fc.record(
  {
    name: fc.constantFrom('web', 'worker'),
    namespace: fc.constantFrom('default', 'shop', 'kube-system'),
    annotations: fc.constantFrom<Record<string, string>>(
      {},
      { 'lifecycle-guard.io/skip': 'all' },
      { 'lifecycle-guard.io/skip': 'inject-prestop-delay' },
      { 'lifecycle-guard.io/skip': 'termination-message-fallback,no-shell-entrypoint' },
    ),
  },
  { requiredKeys: ['name'], noNullPrototype: true },
);

// A JSON tree, as an AdmissionReview or a YAML file without aliases gives (constantFrom shares values).
const workload = fc
  .tuple(fc.constantFrom(...WORKLOAD_KINDS), podSpec, metadata)
  .map(([kind, spec, meta]) => JSON.parse(JSON.stringify(wrap(kind, spec, meta))) as JsonObject);

const policy = fc
  .record(
    {
      seconds: fc.integer({ min: 1, max: 60 }),
      shutdownWindowSeconds: fc.integer({ min: 1, max: 60 }),
      action: fc.constantFrom('auto', 'sleep', 'exec'),
      allowSkipAnnotation: fc.boolean(),
    },
    { noNullPrototype: true },
  )
  .map(({ allowSkipAnnotation, ...params }) =>
    policyFromObject(
      { allowSkipAnnotation, rules: { 'inject-prestop-delay': params, 'distinct-liveness-readiness': { mode: 'enforce' } } },
      'property',
    ),
  );

const cluster = fc.option(
  fc.record({ major: fc.constant(1), minor: fc.integer({ min: 25, max: 34 }) }, { noNullPrototype: true }).map((version) => ({ version })),
  { nil: undefined },
);

const key = (finding: Finding) => `${finding.rule}|${finding.container ?? ''}|${finding.message}`;

test('mutateObject: idempotent, its patch reproduces its object, input untouched, introduces no finding', () => {
  fc.assert(
    fc.property(workload, policy, cluster, (object: JsonObject, policy: Policy, cluster) => {
      const options = cluster === undefined ? {} : { cluster };
      const before = structuredClone(object);
      const mutation = mutateObject(object, policy, options);

      assert.deepEqual(mutation.errors, []);
      assert.deepEqual(object, before, 'the input object is not modified');

      // Applied by another RFC 6902 implementation than the one that computed it, as the API server does.
      const applied = structuredClone(object);
      assert.deepEqual(
        applyPatch(applied, mutation.patch as RfcOperation[]).filter((error) => error !== null),
        [],
      );
      assert.deepEqual(applied, mutation.object, 'the patch applied to the input gives the returned object');

      const second = mutateObject(mutation.object, policy, options);
      assert.deepEqual(second.patch, [], 'a second mutation changes nothing');
      assert.deepEqual(second.findings, []);

      const after = evaluateObject(mutation.object, policy, options);
      assert.deepEqual(after.errors, []);
      assert.deepEqual(
        after.findings.filter((finding) => finding.type === 'mutating'),
        [],
        'the mutated object has no mutating finding',
      );
      const had = new Set(
        evaluateObject(object, policy, options)
          .findings.filter((finding) => finding.type === 'validating')
          .map(key),
      );
      const introduced = after.findings.filter((finding) => finding.type === 'validating' && !had.has(key(finding)));
      assert.deepEqual(introduced, [], 'no validating finding that the input did not have');
    }),
    { numRuns: 300 },
  );
});
