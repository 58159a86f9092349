// Shared builders for the rule, engine and fixture tests (not a test file itself).
import type { ClusterInfo, Finding, JsonObject } from '../../src/core/types.js';
import { evaluateObject, type EvaluationOptions } from '../../src/engine/evaluate.js';
import { mutateObject, type Mutation } from '../../src/engine/mutate.js';
import { policyFromObject, type Policy } from '../../src/engine/policy.js';
import { RULE_IDS } from '../../src/rules/index.js';

export { LONG_RUNNING_KINDS, podSpecOf, WORKLOAD_KINDS, wrap } from '../helpers/workloads.js';
import { wrap } from '../helpers/workloads.js';

/** A Pod (restartPolicy unset, so long-running) with these containers. */
export function pod(containers: JsonObject[], extra: JsonObject = {}): JsonObject {
  return wrap('Pod', { containers, ...extra });
}

/** A policy where only `ruleId` is on (enforce), with optional params for it and any other policy keys. */
export function onlyRule(ruleId: string, params: JsonObject = {}, rest: JsonObject = {}): Policy {
  return policyFromObject(
    {
      ...rest,
      rules: Object.fromEntries(RULE_IDS.map((id) => [id, id === ruleId ? { mode: 'enforce', ...params } : { mode: 'off' }])),
    },
    `only ${ruleId}`,
  );
}

/** Findings of one rule alone on an object; throws when the engine reports a rule error. */
export function findingsOf(ruleId: string, object: unknown, params: JsonObject = {}, options: EvaluationOptions = {}): Finding[] {
  const evaluation = evaluateObject(object, onlyRule(ruleId, params), options);
  if (evaluation.errors.length > 0) throw new Error(`rule errors: ${JSON.stringify(evaluation.errors)}`);
  for (const finding of evaluation.findings) {
    if (finding.rule !== ruleId) throw new Error(`unexpected finding of ${finding.rule}`);
  }
  return evaluation.findings;
}

/** Sorted names of the containers a rule flags; a finding about the whole pod counts as `(pod)`. */
export function flagged(ruleId: string, object: unknown, params: JsonObject = {}, options: EvaluationOptions = {}): string[] {
  return findingsOf(ruleId, object, params, options)
    .map((finding) => finding.container ?? '(pod)')
    .sort();
}

/** The mutation one rule alone makes on an object. */
export function mutateWith(ruleId: string, object: unknown, params: JsonObject = {}, cluster?: ClusterInfo): Mutation {
  return mutateObject(object, onlyRule(ruleId, params), cluster === undefined ? {} : { cluster });
}

export function sorted(names: readonly string[]): string[] {
  return [...names].sort();
}
