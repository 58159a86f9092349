import type { Mode, RuleType } from '../core/types.js';
import { describeWorkload, type Workload } from '../core/workload.js';
import { RULES, type Rule } from '../rules/index.js';
import { findException, type ExceptionContext } from './exceptions.js';
import { effectiveMode, SKIP_ANNOTATION, type Policy } from './policy.js';
import { podBearingKinds } from './workload-kinds.js';

export type SkipReason = 'not-a-workload' | 'excluded-namespace' | 'skip-annotation';

export interface ActiveRule {
  rule: Rule;
  mode: Exclude<Mode, 'off'>;
}

/** A rule that an exception of the policy lifts for this object. */
export interface ExceptedRule {
  rule: string;
  /** Position of the exception in the policy's `exceptions`. */
  exception: number;
}

export type Selection =
  | { workload: Workload; rules: ActiveRule[]; excepted: ExceptedRule[]; skipped?: undefined }
  | { workload?: Workload; rules: []; skipped: SkipReason };

/** Rule ids named by the opt-out annotation (comma-separated ids, or `all`). */
function optedOutRules(annotations: Record<string, string>): ReadonlySet<string> {
  const value = annotations[SKIP_ANNOTATION];
  if (value === undefined) return new Set();
  return new Set(
    value
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id !== ''),
  );
}

export interface SelectionOptions extends ExceptionContext {
  /** Namespace of the request, used when the object does not name one. */
  namespace?: string;
  /** Only rules of this type. */
  ruleType?: RuleType;
  /** Only rules in this mode. */
  mode?: Exclude<Mode, 'off'>;
}

/** Which rules apply to an object under a policy, and in which mode; or why none do. */
export function selectRules(object: unknown, policy: Policy, options: SelectionOptions = {}): Selection {
  const workload = describeWorkload(object, podBearingKinds(policy));
  if (workload === undefined) return { rules: [], skipped: 'not-a-workload' };
  const namespace = workload.namespace ?? options.namespace;
  if (namespace !== undefined && policy.exclude.namespaces.includes(namespace)) {
    return { workload, rules: [], skipped: 'excluded-namespace' };
  }
  const optedOut = policy.allowSkipAnnotation ? optedOutRules(workload.annotations) : new Set<string>();
  if (optedOut.has('all')) return { workload, rules: [], skipped: 'skip-annotation' };
  const rules: ActiveRule[] = [];
  const excepted: ExceptedRule[] = [];
  for (const rule of RULES) {
    if (optedOut.has(rule.meta.id) || (options.ruleType !== undefined && rule.meta.type !== options.ruleType)) continue;
    const mode = effectiveMode(policy, rule);
    if (mode === 'off' || (options.mode !== undefined && options.mode !== mode)) continue;
    const exception =
      policy.exceptions.length === 0 ? undefined : findException(policy.exceptions, rule.meta.id, workload, namespace, options);
    if (exception === undefined) rules.push({ rule, mode });
    else excepted.push({ rule: rule.meta.id, exception: exception.index });
  }
  return { workload, rules, excepted };
}
