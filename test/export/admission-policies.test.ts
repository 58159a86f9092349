import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject } from '../../src/core/types.js';
import { parsePolicy } from '../../src/engine/policy-text.js';
import { DEFAULT_POLICY } from '../../src/engine/policy.js';
import { exportAdmissionPolicies, ExportError } from '../../src/export/admission-policies.js';

function byKindAndName(objects: JsonObject[]): string[] {
  return objects.map((object) => `${String(object.apiVersion)} ${String(object.kind)} ${String((object.metadata as JsonObject).name)}`);
}

function find(objects: JsonObject[], kind: string, name: string): JsonObject {
  const found = objects.find((object) => object.kind === kind && (object.metadata as JsonObject).name === `lifecycle-guard-${name}`);
  assert.ok(found, `${kind} ${name} is missing`);
  return found;
}

function spec(object: JsonObject): JsonObject {
  return object.spec as JsonObject;
}

test('the default policy: a VAP per enforced validating rule, a MAP per mutating rule, each with its binding (opt-in rules left out)', () => {
  const { objects } = exportAdmissionPolicies(DEFAULT_POLICY);
  assert.deepEqual(byKindAndName(objects), [
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy lifecycle-guard-no-shell-entrypoint',
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding lifecycle-guard-no-shell-entrypoint',
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy lifecycle-guard-require-readiness-probe',
    'admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding lifecycle-guard-require-readiness-probe',
    'admissionregistration.k8s.io/v1 MutatingAdmissionPolicy lifecycle-guard-inject-prestop-delay',
    'admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding lifecycle-guard-inject-prestop-delay',
    'admissionregistration.k8s.io/v1 MutatingAdmissionPolicy lifecycle-guard-termination-message-fallback',
    'admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding lifecycle-guard-termination-message-fallback',
  ]);
  assert.deepEqual(spec(find(objects, 'ValidatingAdmissionPolicyBinding', 'no-shell-entrypoint')).validationActions, ['Deny']);
  const mutating = spec(find(objects, 'MutatingAdmissionPolicy', 'inject-prestop-delay'));
  assert.equal(mutating.reinvocationPolicy, 'IfNeeded');
  assert.deepEqual((mutating.matchConstraints as JsonObject).resourceRules, [
    { apiGroups: [''], apiVersions: ['*'], operations: ['CREATE'], resources: ['pods'] },
  ]);
});

test('readiness probes are not required of Jobs and CronJobs: the policy does not even match them', () => {
  const { objects } = exportAdmissionPolicies(DEFAULT_POLICY);
  const rules = (spec(find(objects, 'ValidatingAdmissionPolicy', 'require-readiness-probe')).matchConstraints as JsonObject)
    .resourceRules as JsonObject[];
  assert.deepEqual(rules.flatMap((rule) => rule.resources as string[]).sort(), [
    'daemonsets',
    'deployments',
    'pods',
    'replicasets',
    'replicationcontrollers',
    'statefulsets',
  ]);
});

test('no-shell-entrypoint follows its scope: Jobs, CronJobs and run-to-completion Pods are left out unless includeRunToCompletion', () => {
  const shellPolicy = (policy: ReturnType<typeof parsePolicy>) =>
    spec(find(exportAdmissionPolicies(policy).objects, 'ValidatingAdmissionPolicy', 'no-shell-entrypoint'));
  const resources = (policySpec: JsonObject) =>
    ((policySpec.matchConstraints as JsonObject).resourceRules as JsonObject[]).flatMap((rule) => rule.resources as string[]).sort();
  const violating = (policySpec: JsonObject) =>
    String((policySpec.variables as JsonObject[]).find((variable) => variable.name === 'violating')?.expression);
  const byDefault = shellPolicy(DEFAULT_POLICY);
  assert.deepEqual(resources(byDefault), ['daemonsets', 'deployments', 'pods', 'replicasets', 'replicationcontrollers', 'statefulsets']);
  assert.match(violating(byDefault), /restartPolicy in \["Never", "OnFailure"\]\) \? \[\]/);
  const included = shellPolicy(parsePolicy('rules: {no-shell-entrypoint: {includeRunToCompletion: true}}', 'test'));
  assert.ok(resources(included).includes('jobs') && resources(included).includes('cronjobs'));
  assert.doesNotMatch(violating(included), /OnFailure/);
});

test('loneCommandShells reaches the CEL and the listed differences; [] leaves the lone-command check out', () => {
  const expression = (policy: ReturnType<typeof parsePolicy>) =>
    String(
      (
        spec(find(exportAdmissionPolicies(policy).objects, 'ValidatingAdmissionPolicy', 'no-shell-entrypoint')).variables as JsonObject[]
      ).find((variable) => variable.name === 'violating')?.expression,
    );
  const strict = parsePolicy('rules: {no-shell-entrypoint: {loneCommandShells: []}}', 'test');
  // The builtins' list is part of the lone-command check only.
  assert.match(expression(DEFAULT_POLICY), /\|sleep\|/);
  assert.doesNotMatch(expression(strict), /\|sleep\|/);
  assert.ok(exportAdmissionPolicies(DEFAULT_POLICY).differences.some((line) => /loneCommandShells/.test(line)));
  assert.ok(!exportAdmissionPolicies(strict).differences.some((line) => /loneCommandShells/.test(line)));
});

test('MutatingAdmissionPolicy is v1beta1 on 1.34 and 1.35, and refused before 1.34 unless the mutating rules are off', () => {
  const beta = exportAdmissionPolicies(DEFAULT_POLICY, { major: 1, minor: 35 }).objects;
  assert.equal(find(beta, 'MutatingAdmissionPolicy', 'inject-prestop-delay').apiVersion, 'admissionregistration.k8s.io/v1beta1');
  assert.equal(find(beta, 'ValidatingAdmissionPolicy', 'no-shell-entrypoint').apiVersion, 'admissionregistration.k8s.io/v1');
  assert.throws(
    () => exportAdmissionPolicies(DEFAULT_POLICY, { major: 1, minor: 33 }),
    (error: Error) => error instanceof ExportError && /1\.34\+.*mode: off/.test(error.message),
  );
  const validatingOnly = parsePolicy('rules: {inject-prestop-delay: {mode: off}, termination-message-fallback: {mode: off}}', 'test');
  assert.equal(exportAdmissionPolicies(validatingOnly, { major: 1, minor: 30 }).objects.length, 4);
  assert.throws(() => exportAdmissionPolicies(validatingOnly, { major: 1, minor: 29 }), /1\.30/);
});

test('audit mode: validating rules warn and audit, mutating rules are left out and the difference is said', () => {
  const { objects, differences } = exportAdmissionPolicies(parsePolicy('mode: audit', 'test'));
  assert.deepEqual(spec(find(objects, 'ValidatingAdmissionPolicyBinding', 'require-readiness-probe')).validationActions, ['Warn', 'Audit']);
  assert.equal(objects.filter((object) => object.kind === 'MutatingAdmissionPolicy').length, 0);
  assert.ok(differences.some((line) => line.startsWith('inject-prestop-delay: audit mode is not exported')));
});

test('excluded namespaces, the skip annotation and controller-owned Pods become match constraints and conditions', () => {
  const policy = parsePolicy('exclude: {namespaces: [legacy]}\nallowSkipAnnotation: false', 'test');
  const validating = spec(find(exportAdmissionPolicies(policy).objects, 'ValidatingAdmissionPolicy', 'no-shell-entrypoint'));
  assert.deepEqual((validating.matchConstraints as JsonObject).namespaceSelector, {
    matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['legacy'] }],
  });
  assert.deepEqual(
    (validating.matchConditions as JsonObject[]).map((condition) => condition.name),
    ['not-controller-owned'],
  );
  const withSkip = spec(find(exportAdmissionPolicies(DEFAULT_POLICY).objects, 'MutatingAdmissionPolicy', 'termination-message-fallback'));
  // Pods created by a controller are mutated like any Pod: only the skip annotation opts out.
  assert.deepEqual(
    (withSkip.matchConditions as JsonObject[]).map((condition) => condition.name),
    ['not-skipped'],
  );
});

test('preStop parameters and the failure mode reach the CEL', () => {
  const policy = parsePolicy(
    'failureMode: deny\nrules: {inject-prestop-delay: {seconds: 7, shutdownWindowSeconds: 20, action: exec}}',
    'test',
  );
  const mutating = spec(find(exportAdmissionPolicies(policy).objects, 'MutatingAdmissionPolicy', 'inject-prestop-delay'));
  const expression = String(((mutating.mutations as JsonObject[])[0]?.jsonPatch as JsonObject).expression);
  assert.match(expression, /\{"exec": \{"command": \["sleep", "7"\]\}\}/);
  assert.match(expression, /variables\.gracePeriod < 27 \?/);
  assert.equal(mutating.failurePolicy, 'Fail');
});
