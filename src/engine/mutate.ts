import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { describeWorkload } from '../core/workload.js';
import { runRules, type EvaluationOptions, type RuleRun } from './evaluate.js';
import type { Policy } from './policy.js';
import { selectRules, type SkipReason } from './select.js';
import { podBearingKinds } from './workload-kinds.js';

export interface Mutation extends RuleRun {
  /** The mutated copy; the input object itself is never changed. */
  object: unknown;
  /** JSON Patch from the input to `object`; empty when nothing changes. */
  patch: Operation[];
  skipped?: SkipReason;
}

/**
 * Applies the mutating rules that are in enforce mode to a copy of the object and diffs it.
 * When a rule fails, nothing is changed and the error is returned: a half-applied mutation is worse than none.
 */
export function mutateObject(object: unknown, policy: Policy, options: Omit<EvaluationOptions, 'oldObject' | 'mode'> = {}): Mutation {
  const selection = selectRules(object, policy, { ...options, ruleType: 'mutating', mode: 'enforce' });
  if (selection.skipped !== undefined || selection.rules.length === 0) {
    return { object, patch: [], findings: [], errors: [], ...(selection.skipped ? { skipped: selection.skipped } : {}) };
  }
  const copy = structuredClone(object);
  const workload = describeWorkload(copy, podBearingKinds(policy));
  const run = workload === undefined ? { findings: [], errors: [] } : runRules(selection.rules, workload, policy, options.cluster ?? {});
  if (run.errors.length > 0) return { object, patch: [], findings: [], errors: run.errors };
  return { object: copy, patch: fastJsonPatch.compare(object as object, copy as object), ...run };
}
