import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { isObject, type Finding, type JsonObject } from '../core/types.js';
import { withPodSpec, type Workload } from '../core/workload.js';
import type { ClusterInfo } from '../core/types.js';
import { cloneJson } from '../core/clone.js';
import { runRules, type EvaluationOptions, type RuleRun } from './evaluate.js';
import type { Policy } from './policy.js';
import { selectRules, type ActiveRule, type SkipReason } from './select.js';

export interface Mutation extends RuleRun {
  /** The mutated copy; the input object itself is never changed. */
  object: unknown;
  /** JSON Patch from the input to `object`; empty when nothing changes. */
  patch: Operation[];
  skipped?: SkipReason;
  /** With `audit: true`: what the mutating rules in audit mode would change (nothing is changed for them). */
  audited?: Finding[];
}

export interface MutationOptions extends Omit<EvaluationOptions, 'oldObject' | 'mode' | 'ruleType'> {
  /** Also report what audit-mode mutating rules would change (the webhook warns about it). */
  audit?: boolean;
}

/** JSON Pointer of a key path (RFC 6901 escaping). */
function pointer(path: readonly string[]): string {
  return path.map((key) => `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** A copy of `object` with `value` at `path`: only the objects along the path are copied, the rest is shared. */
function replaceAt(object: unknown, path: readonly string[], value: unknown): unknown {
  const [key, ...rest] = path;
  if (key === undefined || !isObject(object)) return value;
  return { ...object, [key]: replaceAt(object[key], rest, value) };
}

/** Runs rules on a copy of the pod spec: mutating rules change only the pod spec (see withPodSpec). */
function onCopy(rules: readonly ActiveRule[], workload: Workload, policy: Policy, cluster: ClusterInfo): RuleRun & { podSpec: JsonObject } {
  const podSpec = cloneJson(workload.podSpec);
  return { podSpec, ...runRules(rules, withPodSpec(workload, podSpec), policy, cluster) };
}

/**
 * Applies the mutating rules that are in enforce mode to a copy of the object and diffs it.
 * When a rule fails, nothing is changed and the error is returned: a half-applied mutation is worse than none.
 */
export function mutateObject(object: unknown, policy: Policy, options: MutationOptions = {}): Mutation {
  const { audit = false, ...selectionOptions } = options;
  const selection = selectRules(object, policy, { ...selectionOptions, ruleType: 'mutating' });
  const unchanged = { object, patch: [], findings: [], errors: [] };
  if (selection.skipped !== undefined) return { ...unchanged, skipped: selection.skipped, ...(audit ? { audited: [] } : {}) };
  const cluster = options.cluster ?? {};
  const { workload } = selection;
  const auditRules = selection.rules.filter((active) => active.mode === 'audit');
  const audited = audit
    ? auditRules.length === 0
      ? { findings: [], errors: [] }
      : onCopy(auditRules, workload, policy, cluster)
    : undefined;
  if (audited !== undefined && audited.errors.length > 0) return { ...unchanged, errors: audited.errors };
  const auditedFindings = audited === undefined ? {} : { audited: audited.findings };
  const enforced = selection.rules.filter((active) => active.mode === 'enforce');
  if (enforced.length === 0) return { ...unchanged, ...auditedFindings };

  const run = onCopy(enforced, workload, policy, cluster);
  if (run.errors.length > 0) return { ...unchanged, errors: run.errors };
  // A mutating rule describes every change it makes (MutatingRule): no finding, no diff to compute.
  // Most objects a busy cluster sends are already compliant.
  if (run.findings.length === 0) return { ...unchanged, ...auditedFindings };
  const prefix = pointer(workload.podSpecPath);
  const patch = fastJsonPatch
    .compare(workload.podSpec, run.podSpec)
    .map((operation) => ({ ...operation, path: `${prefix}${operation.path}` }));
  return {
    object: replaceAt(object, workload.podSpecPath, run.podSpec),
    patch,
    findings: run.findings,
    errors: [],
    ...auditedFindings,
  };
}
