import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../src/core/types.js';
import { evaluateObject, isEnforcedViolation } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import { DEFAULT_POLICY, policyFromObject } from '../../src/engine/policy.js';
import { selectRules } from '../../src/engine/select.js';
import { RULES } from '../../src/rules/index.js';
import { withBrokenRule } from '../helpers/broken-rule.js';
import { pod, wrap } from '../rules/helpers.js';

const SKIP = 'lifecycle-guard.io/skip';

/** A Pod that breaks every default rule: shell PID 1, no readiness probe, no preStop, no fallback. */
function badPod(metadata: JsonObject = { name: 'bad', namespace: 'shop' }): JsonObject {
  return wrap('Pod', { containers: [{ name: 'app', image: 'app', command: ['sh', '-c', './server'] }] }, metadata);
}

const ruleIds = (findings: { rule: string }[]) => [...new Set(findings.map((finding) => finding.rule))];
const ALL_DEFAULT = ['no-shell-entrypoint', 'require-readiness-probe', 'inject-prestop-delay', 'termination-message-fallback'];

describe('evaluateObject: findings', () => {
  test('every default rule, validating rules first, each finding complete', () => {
    const evaluation = evaluateObject(badPod(), DEFAULT_POLICY);
    assert.deepEqual(evaluation.errors, []);
    assert.equal(evaluation.skipped, undefined);
    assert.deepEqual(ruleIds(evaluation.findings), ALL_DEFAULT);
    const shell = evaluation.findings[0];
    assert.ok(shell);
    // In this order for every finding: JSON outputs list them so (src/engine/evaluate.ts builds them without a spread).
    for (const finding of evaluation.findings)
      assert.deepEqual(Object.keys(finding), ['container', 'message', 'rule', 'type', 'mode', 'fix', 'docs']);
    assert.equal(shell.docs, 'https://github.com/lifecycle-guard/lifecycle-guard/blob/main/docs/rules/no-shell-entrypoint.md');
    assert.equal(shell.rule, 'no-shell-entrypoint');
    assert.equal(shell.type, 'validating');
    assert.equal(shell.mode, 'enforce');
    assert.equal(shell.container, 'app');
    assert.equal(shell.fix, RULES[0]?.meta.fix);
    assert.equal(isEnforcedViolation(shell), true);
    const mutating = evaluation.findings.filter((finding) => finding.type === 'mutating');
    assert.equal(mutating.length, 2);
    assert.ok(mutating.every((finding) => !isEnforcedViolation(finding)));
  });

  test('evaluation does not change the object (mutating rules report on a copy)', () => {
    const object = badPod();
    const before = structuredClone(object);
    evaluateObject(object, DEFAULT_POLICY);
    assert.deepEqual(object, before);
  });

  test('audit mode: the same findings, in audit mode, none enforced', () => {
    const evaluation = evaluateObject(badPod(), policyFromObject({ mode: 'audit' }, 'p'));
    assert.deepEqual(ruleIds(evaluation.findings), ALL_DEFAULT);
    assert.ok(evaluation.findings.every((finding) => finding.mode === 'audit' && !isEnforcedViolation(finding)));
  });

  test('off: no finding', () => {
    assert.deepEqual(evaluateObject(badPod(), policyFromObject({ mode: 'off' }, 'p')).findings, []);
  });

  test('a compliant Deployment has no finding', () => {
    const object = wrap('Deployment', {
      containers: [
        {
          name: 'app',
          command: ['/app/server'],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
          lifecycle: { preStop: { sleep: { seconds: 5 } } },
          terminationMessagePolicy: 'FallbackToLogsOnError',
        },
      ],
    });
    const evaluation = evaluateObject(object, DEFAULT_POLICY);
    assert.deepEqual([evaluation.findings, evaluation.errors, evaluation.skipped], [[], [], undefined]);
    assert.equal(evaluation.workload?.kind, 'Deployment');
  });

  test('objects without a pod spec are skipped as not-a-workload', () => {
    for (const object of [
      { kind: 'Service', metadata: { name: 's' } },
      { kind: 'ConfigMap' },
      { kind: 'CloneSet', spec: { template: { spec: { containers: [{}] } } } },
    ]) {
      const evaluation = evaluateObject(object, DEFAULT_POLICY);
      assert.equal(evaluation.skipped, 'not-a-workload');
      assert.deepEqual(evaluation.findings, []);
    }
  });
});

describe('namespace exclusion', () => {
  for (const namespace of ['kube-system', 'kube-public', 'kube-node-lease', 'lifecycle-guard']) {
    test(`${namespace} is excluded by default`, () => {
      const evaluation = evaluateObject(badPod({ name: 'x', namespace }), DEFAULT_POLICY);
      assert.equal(evaluation.skipped, 'excluded-namespace');
      assert.deepEqual(evaluation.findings, []);
      const mutation = mutateObject(badPod({ name: 'x', namespace }), DEFAULT_POLICY);
      assert.equal(mutation.skipped, 'excluded-namespace');
      assert.deepEqual(mutation.patch, []);
    });
  }

  test('the request namespace counts when the object names none', () => {
    const object = badPod({ name: 'x' });
    assert.equal(evaluateObject(object, DEFAULT_POLICY, { namespace: 'kube-system' }).skipped, 'excluded-namespace');
    assert.equal(evaluateObject(object, DEFAULT_POLICY, { namespace: 'shop' }).skipped, undefined);
    assert.equal(evaluateObject(object, DEFAULT_POLICY).skipped, undefined);
  });

  test("the object's own namespace wins over the request namespace", () => {
    assert.equal(evaluateObject(badPod({ name: 'x', namespace: 'shop' }), DEFAULT_POLICY, { namespace: 'kube-system' }).skipped, undefined);
  });

  test('a policy list replaces the default one', () => {
    const policy = policyFromObject({ exclude: { namespaces: ['batch'] } }, 'p');
    assert.equal(evaluateObject(badPod({ name: 'x', namespace: 'batch' }), policy).skipped, 'excluded-namespace');
    assert.deepEqual(ruleIds(evaluateObject(badPod({ name: 'x', namespace: 'kube-system' }), policy).findings), ALL_DEFAULT);
  });
});

describe('skip annotation', () => {
  test('`all` on the object skips every rule', () => {
    const evaluation = evaluateObject(badPod({ name: 'x', annotations: { [SKIP]: 'all' } }), DEFAULT_POLICY);
    assert.equal(evaluation.skipped, 'skip-annotation');
    assert.deepEqual(evaluation.findings, []);
    assert.equal(mutateObject(badPod({ name: 'x', annotations: { [SKIP]: 'all' } }), DEFAULT_POLICY).skipped, 'skip-annotation');
  });

  test('comma-separated rule ids skip those rules only (spaces allowed)', () => {
    const object = badPod({ name: 'x', annotations: { [SKIP]: 'no-shell-entrypoint, inject-prestop-delay' } });
    assert.deepEqual(ruleIds(evaluateObject(object, DEFAULT_POLICY).findings), ['require-readiness-probe', 'termination-message-fallback']);
    const mutation = mutateObject(object, DEFAULT_POLICY);
    assert.deepEqual(ruleIds(mutation.findings), ['termination-message-fallback']);
    assert.deepEqual(mutation.patch, [{ op: 'add', path: '/spec/containers/0/terminationMessagePolicy', value: 'FallbackToLogsOnError' }]);
  });

  test('on the pod template of a workload', () => {
    const object = wrap('Deployment', { containers: [{ name: 'app', command: ['sh', '-c', 'x'] }] });
    (object.spec as { template: { metadata: JsonObject } }).template.metadata.annotations = {
      [SKIP]: 'no-shell-entrypoint,require-readiness-probe',
    };
    assert.deepEqual(ruleIds(evaluateObject(object, DEFAULT_POLICY).findings), ['inject-prestop-delay', 'termination-message-fallback']);
    (object.spec as { template: { metadata: JsonObject } }).template.metadata.annotations = { [SKIP]: 'all' };
    assert.equal(evaluateObject(object, DEFAULT_POLICY).skipped, 'skip-annotation');
  });

  test('unknown ids and empty entries are ignored', () => {
    const object = badPod({ name: 'x', annotations: { [SKIP]: 'nonexistent-rule,,  ' } });
    assert.deepEqual(ruleIds(evaluateObject(object, DEFAULT_POLICY).findings), ALL_DEFAULT);
  });

  test('other annotations do nothing', () => {
    const object = badPod({ name: 'x', annotations: { 'lifecycle-guard.io/other': 'all', skip: 'all' } });
    assert.deepEqual(ruleIds(evaluateObject(object, DEFAULT_POLICY).findings), ALL_DEFAULT);
  });

  test('allowSkipAnnotation: false makes every rule binding', () => {
    const policy = policyFromObject({ allowSkipAnnotation: false }, 'p');
    for (const value of ['all', 'no-shell-entrypoint,require-readiness-probe']) {
      const object = badPod({ name: 'x', annotations: { [SKIP]: value } });
      const evaluation = evaluateObject(object, policy);
      assert.equal(evaluation.skipped, undefined);
      assert.deepEqual(ruleIds(evaluation.findings), ALL_DEFAULT);
      assert.ok(mutateObject(object, policy).patch.length > 0);
    }
  });

  test('selectRules reports the rules that apply and their modes', () => {
    const policy = policyFromObject({ mode: 'audit', rules: { 'no-shell-entrypoint': { mode: 'enforce' } } }, 'p');
    const selection = selectRules(badPod({ name: 'x', annotations: { [SKIP]: 'termination-message-fallback' } }), policy);
    assert.deepEqual(
      selection.rules.map(({ rule, mode }) => [rule.meta.id, mode]),
      [
        ['no-shell-entrypoint', 'enforce'],
        ['require-readiness-probe', 'audit'],
        ['inject-prestop-delay', 'audit'],
      ],
    );
    assert.deepEqual(
      selectRules(badPod(), DEFAULT_POLICY, { ruleType: 'mutating' }).rules.map(({ rule }) => rule.meta.id),
      ['inject-prestop-delay', 'termination-message-fallback'],
    );
  });
});

describe('preexisting findings (UPDATE with oldObject)', () => {
  test('a finding the old object already had is marked preexisting; a new one is not', () => {
    const oldObject = pod([{ name: 'old', command: ['sh', '-c', 'x'], readinessProbe: { tcpSocket: { port: 1 } } }]);
    const object = pod([
      { name: 'old', command: ['sh', '-c', 'x'], readinessProbe: { tcpSocket: { port: 1 } } },
      { name: 'new', command: ['bash', '-c', 'y; z'], readinessProbe: { tcpSocket: { port: 1 } } },
    ]);
    const shell = evaluateObject(object, DEFAULT_POLICY, { oldObject }).findings.filter(
      (finding) => finding.rule === 'no-shell-entrypoint',
    );
    assert.deepEqual(
      shell.map(({ container, preexisting }) => [container, preexisting]),
      [
        ['old', true],
        ['new', undefined],
      ],
    );
  });

  test('without oldObject nothing is preexisting', () => {
    assert.ok(evaluateObject(badPod(), DEFAULT_POLICY).findings.every((finding) => finding.preexisting === undefined));
  });

  test('the same object as oldObject: every finding is preexisting', () => {
    const findings = evaluateObject(badPod(), DEFAULT_POLICY, { oldObject: badPod() }).findings;
    assert.ok(findings.length > 0);
    assert.ok(findings.every((finding) => finding.preexisting === true));
  });

  test('an old object that was fine, or malformed, marks nothing', () => {
    for (const oldObject of [pod([{ name: 'app', command: ['/app'] }]), null, 'garbage', { kind: 'Pod', spec: { containers: 'x' } }]) {
      const findings = evaluateObject(badPod(), DEFAULT_POLICY, { oldObject }).findings.filter(
        (finding) => finding.rule === 'no-shell-entrypoint',
      );
      assert.equal(findings.length, 1);
      assert.equal(findings[0]?.preexisting, undefined);
    }
  });
});

describe('malformed objects never throw', () => {
  const malformed: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['string', 'apiVersion: v1'],
    ['number', 42],
    ['boolean', true],
    ['array', [badPod()]],
    ['empty object', {}],
    ['kind a number', { kind: 5 }],
    ['Pod without spec', { kind: 'Pod' }],
    ['Pod with null spec', { kind: 'Pod', spec: null }],
    ['Pod with string spec', { kind: 'Pod', spec: 'x' }],
    ['containers not an array', pod('app' as unknown as JsonObject[])],
    ['containers an object', wrap('Pod', { containers: { name: 'app' } })],
    ['container entries that are numbers, strings, null, arrays', wrap('Pod', { containers: [1, 'app', null, [], true] })],
    ['initContainers not an array', wrap('Pod', { initContainers: 7, containers: [{ name: 'a' }] })],
    ['command as a string', pod([{ name: 'a', command: 'sh -c ./server' }])],
    ['args as a string', pod([{ name: 'a', command: ['sh'], args: '-c ./server' }])],
    ['command with non-strings', pod([{ name: 'a', command: ['sh', null, 1, {}, []] }])],
    ['name not a string', pod([{ name: { first: 'x' } }])],
    ['lifecycle a string', pod([{ name: 'a', lifecycle: 'preStop' }])],
    ['lifecycle null', pod([{ name: 'a', lifecycle: null }])],
    ['preStop null', pod([{ name: 'a', lifecycle: { preStop: null } }])],
    ['probes of the wrong type', pod([{ name: 'a', readinessProbe: 1, livenessProbe: 'x', startupProbe: [] }])],
    ['terminationGracePeriodSeconds a string', pod([{ name: 'a' }], { terminationGracePeriodSeconds: 'long' })],
    ['restartPolicy a number', pod([{ name: 'a', restartPolicy: 1 }], { restartPolicy: 2 })],
    ['metadata a string', { kind: 'Pod', metadata: 'x', spec: { containers: [{}] } }],
    ['annotations a list', { kind: 'Pod', metadata: { annotations: ['a'] }, spec: { containers: [{}] } }],
    ['skip annotation not a string', { kind: 'Pod', metadata: { annotations: { [SKIP]: true } }, spec: { containers: [{}] } }],
    ['namespace a number', { kind: 'Pod', metadata: { namespace: 4 }, spec: { containers: [{}] } }],
    [
      'ownerReferences malformed',
      { kind: 'Pod', metadata: { ownerReferences: [null, 1, { controller: true }] }, spec: { containers: [{}] } },
    ],
    ['Deployment template a string', { kind: 'Deployment', spec: { template: 'x' } }],
    ['CronJob jobTemplate a list', { kind: 'CronJob', spec: { jobTemplate: [] } }],
    ['deeply nested values', pod([{ name: 'a', env: [{ name: 'X', value: { a: { b: { c: [1, [2, [3]]] } } } }] }])],
  ];
  for (const [name, object] of malformed) {
    test(name, () => {
      const before = structuredClone(object);
      const evaluation = evaluateObject(object, DEFAULT_POLICY, { oldObject: object });
      assert.deepEqual(evaluation.errors, []);
      const mutation = mutateObject(object, DEFAULT_POLICY);
      assert.deepEqual(mutation.errors, []);
      assert.deepEqual(object, before, 'the input is not modified');
      // Whatever could be mutated is idempotent.
      assert.deepEqual(mutateObject(mutation.object, DEFAULT_POLICY).patch, []);
      // The opt-in rule too: rule errors are caught by the engine, so none may be reported.
      const everyRule = policyFromObject({ rules: { 'distinct-liveness-readiness': { mode: 'enforce' } } }, 'p');
      assert.deepEqual(evaluateObject(object, everyRule).errors, []);
    });
  }
});

describe('a rule that throws is reported, not thrown', () => {
  test('validating rule: an error, and the other rules still run', async () => {
    await withBrokenRule(
      'require-readiness-probe',
      () => {
        const evaluation = evaluateObject(badPod(), DEFAULT_POLICY);
        assert.deepEqual(evaluation.errors, [{ rule: 'require-readiness-probe', message: 'boom' }]);
        assert.deepEqual(ruleIds(evaluation.findings), ['no-shell-entrypoint', 'inject-prestop-delay', 'termination-message-fallback']);
      },
      new Error('boom'),
    );
  });

  test('a thrown non-Error is reported as a string', async () => {
    await withBrokenRule(
      'no-shell-entrypoint',
      () => {
        assert.deepEqual(evaluateObject(badPod(), DEFAULT_POLICY).errors, [{ rule: 'no-shell-entrypoint', message: 'plain string' }]);
      },
      'plain string',
    );
  });

  test('mutating rule: evaluate reports the error; mutate changes nothing at all', async () => {
    await withBrokenRule(
      'inject-prestop-delay',
      () => {
        const object = badPod();
        const before = structuredClone(object);
        const evaluation = evaluateObject(object, DEFAULT_POLICY);
        assert.deepEqual(evaluation.errors, [{ rule: 'inject-prestop-delay', message: 'cannot read' }]);
        const mutation = mutateObject(object, DEFAULT_POLICY);
        assert.deepEqual(mutation.errors, [{ rule: 'inject-prestop-delay', message: 'cannot read' }]);
        assert.deepEqual(mutation.patch, []);
        assert.deepEqual(mutation.findings, []);
        assert.equal(mutation.object, object);
        assert.deepEqual(object, before);
      },
      new TypeError('cannot read'),
    );
  });

  test('the rule works again once restored', () => {
    assert.deepEqual(evaluateObject(badPod(), DEFAULT_POLICY).errors, []);
  });
});
