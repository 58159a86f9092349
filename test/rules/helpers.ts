// Shared builders for the rule, engine and fixture tests (not a test file itself).
import type { ClusterInfo, Finding, JsonObject } from '../../src/core/types.js';
import { evaluateObject, type EvaluationOptions } from '../../src/engine/evaluate.js';
import { mutateObject, type Mutation } from '../../src/engine/mutate.js';
import { policyFromObject, type Policy } from '../../src/engine/policy.js';
import { RULE_IDS } from '../../src/rules/index.js';

/** Every kind that carries a pod spec, with where the pod spec lives. */
export const WORKLOAD_KINDS = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const LONG_RUNNING_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController'] as const;

/** Wraps a pod spec in an object of the given kind, at that kind's usual path. */
export function wrap(kind: string, podSpec: unknown, metadata: JsonObject = { name: 'demo', namespace: 'default' }): JsonObject {
  const apiVersion: Record<string, string> = {
    Pod: 'v1',
    ReplicationController: 'v1',
    Job: 'batch/v1',
    CronJob: 'batch/v1',
  };
  const base = { apiVersion: apiVersion[kind] ?? 'apps/v1', kind, metadata };
  switch (kind) {
    case 'Pod':
      return { ...base, spec: podSpec };
    case 'CronJob':
      return { ...base, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec } } } } };
    default:
      return {
        ...base,
        spec: { selector: { matchLabels: { app: 'demo' } }, template: { metadata: { labels: { app: 'demo' } }, spec: podSpec } },
      };
  }
}

/** The pod spec inside an object built by `wrap`. */
export function podSpecOf(object: unknown): JsonObject {
  const o = object as { kind: string; spec: JsonObject };
  if (o.kind === 'Pod') return o.spec;
  if (o.kind === 'CronJob') return (((o.spec.jobTemplate as JsonObject).spec as JsonObject).template as JsonObject).spec as JsonObject;
  return (o.spec.template as JsonObject).spec as JsonObject;
}

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
