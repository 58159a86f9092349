import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fastJsonPatch from 'fast-json-patch';
import type { JsonObject } from '../../src/core/types.js';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import { DEFAULT_POLICY, policyFromObject } from '../../src/engine/policy.js';
import { pod, podSpecOf, WORKLOAD_KINDS, wrap } from '../rules/helpers.js';

const FALLBACK = 'FallbackToLogsOnError';

describe('mutateObject', () => {
  test('a Pod: exact patch and object, input untouched', () => {
    const object = pod([{ name: 'app', image: 'nginx' }], { terminationGracePeriodSeconds: 10 });
    const before = structuredClone(object);
    const mutation = mutateObject(object, DEFAULT_POLICY);
    assert.deepEqual(object, before);
    assert.notEqual(mutation.object, object);
    assert.deepEqual(mutation.errors, []);
    assert.deepEqual(mutation.object, {
      ...object,
      spec: {
        terminationGracePeriodSeconds: 15,
        containers: [
          { name: 'app', image: 'nginx', lifecycle: { preStop: { sleep: { seconds: 5 } } }, terminationMessagePolicy: FALLBACK },
        ],
      },
    });
    assert.deepEqual(
      [...mutation.patch].sort((a, b) => a.path.localeCompare(b.path)),
      [
        { op: 'add', path: '/spec/containers/0/lifecycle', value: { preStop: { sleep: { seconds: 5 } } } },
        { op: 'add', path: '/spec/containers/0/terminationMessagePolicy', value: FALLBACK },
        { op: 'replace', path: '/spec/terminationGracePeriodSeconds', value: 15 },
      ],
    );
    assert.deepEqual(
      mutation.findings.map(({ rule, container }) => [rule, container]),
      [
        ['inject-prestop-delay', 'app'],
        ['inject-prestop-delay', undefined],
        ['termination-message-fallback', 'app'],
      ],
    );
    assert.ok(mutation.findings.every((finding) => finding.type === 'mutating' && finding.mode === 'enforce'));
  });

  for (const kind of WORKLOAD_KINDS) {
    test(`${kind}: patch paths point into the pod template; applying the patch gives the object`, () => {
      const object = wrap(kind, { containers: [{ name: 'app' }] });
      const mutation = mutateObject(object, DEFAULT_POLICY);
      const prefix = { Pod: '/spec', CronJob: '/spec/jobTemplate/spec/template/spec' }[kind] ?? '/spec/template/spec';
      assert.ok(mutation.patch.length > 0);
      for (const operation of mutation.patch) assert.ok(operation.path.startsWith(`${prefix}/containers/0/`), operation.path);
      const applied = fastJsonPatch.applyPatch(structuredClone(object), mutation.patch, true, false).newDocument;
      assert.deepEqual(applied, mutation.object);
      const runToCompletion = kind === 'Job' || kind === 'CronJob';
      assert.equal((podSpecOf(mutation.object).containers as JsonObject[])[0]?.lifecycle !== undefined, !runToCompletion);
    });
  }

  test('validating rules never change anything', () => {
    const object = pod([
      { name: 'app', command: ['sh', '-c', 'x'], lifecycle: { preStop: { sleep: { seconds: 5 } } }, terminationMessagePolicy: FALLBACK },
    ]);
    const mutation = mutateObject(object, DEFAULT_POLICY);
    assert.deepEqual(mutation.patch, []);
    assert.deepEqual(mutation.findings, []);
  });

  test('only mutating rules in enforce mode apply', () => {
    const object = pod([{ name: 'app' }]);
    const audit = policyFromObject({ rules: { 'inject-prestop-delay': { mode: 'audit' } } }, 'p');
    const mutation = mutateObject(object, audit);
    assert.deepEqual(mutation.patch, [{ op: 'add', path: '/spec/containers/0/terminationMessagePolicy', value: FALLBACK }]);
    // ...while evaluation still reports what the audit-mode rule would do.
    const reported = evaluateObject(object, audit).findings.filter((finding) => finding.rule === 'inject-prestop-delay');
    assert.deepEqual(
      reported.map(({ container, mode }) => [container, mode]),
      [['app', 'audit']],
    );
  });

  test('global audit or off: nothing changes and the input object itself is returned', () => {
    for (const mode of ['audit', 'off']) {
      const object = pod([{ name: 'app' }]);
      const mutation = mutateObject(object, policyFromObject({ mode }, 'p'));
      assert.deepEqual(mutation.patch, []);
      assert.deepEqual(mutation.findings, []);
      assert.equal(mutation.object, object);
    }
  });

  test('a rule turned off is not applied', () => {
    const mutation = mutateObject(
      pod([{ name: 'app' }]),
      policyFromObject({ rules: { 'termination-message-fallback': { mode: 'off' } } }, 'p'),
    );
    assert.deepEqual(
      mutation.patch.map((operation) => operation.path),
      ['/spec/containers/0/lifecycle'],
    );
  });

  test('rule parameters and cluster version reach the rule', () => {
    const policy = policyFromObject({ rules: { 'inject-prestop-delay': { seconds: 9 } } }, 'p');
    const spec = podSpecOf(mutateObject(pod([{ name: 'app' }]), policy, { cluster: { version: { major: 1, minor: 29 } } }).object);
    assert.deepEqual((spec.containers as JsonObject[])[0]?.lifecycle, { preStop: { exec: { command: ['sleep', '9'] } } });
  });

  test('idempotent: mutating the result changes nothing', () => {
    const object = wrap('Deployment', {
      terminationGracePeriodSeconds: 2,
      initContainers: [
        { name: 'init', terminationMessagePolicy: 'File' },
        { name: 'proxy', restartPolicy: 'Always' },
      ],
      containers: [{ name: 'a' }, { name: 'b', lifecycle: { postStart: { exec: { command: ['x'] } } } }],
    });
    const first = mutateObject(object, DEFAULT_POLICY);
    const second = mutateObject(first.object, DEFAULT_POLICY);
    assert.deepEqual(second.patch, []);
    assert.deepEqual(second.findings, []);
    assert.deepEqual(second.object, first.object);
  });

  test('the mutated object has no mutating finding and no new validating finding', () => {
    const object = pod([{ name: 'app', command: ['sh', '-c', 'x'] }], { terminationGracePeriodSeconds: 1 });
    const before = evaluateObject(object, DEFAULT_POLICY).findings.filter((finding) => finding.type === 'validating');
    const after = evaluateObject(mutateObject(object, DEFAULT_POLICY).object, DEFAULT_POLICY).findings;
    assert.deepEqual(after, before);
  });

  test('skipped objects come back as they are, with the reason', () => {
    const service = { kind: 'Service', metadata: { name: 's' } };
    assert.deepEqual(mutateObject(service, DEFAULT_POLICY), {
      object: service,
      patch: [],
      findings: [],
      errors: [],
      skipped: 'not-a-workload',
    });
    const system = wrap('Pod', { containers: [{ name: 'a' }] }, { name: 'p', namespace: 'kube-system' });
    const mutation = mutateObject(system, DEFAULT_POLICY);
    assert.equal(mutation.skipped, 'excluded-namespace');
    assert.equal(mutation.object, system);
    assert.equal(
      mutateObject(wrap('Pod', { containers: [{ name: 'a' }] }, { name: 'p' }), DEFAULT_POLICY, { namespace: 'kube-system' }).skipped,
      'excluded-namespace',
    );
  });
});
