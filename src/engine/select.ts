import type { Mode, RuleType } from '../core/types.js';
import { describeWorkload, type Workload } from '../core/workload.js';
import { RULES, type Rule } from '../rules/index.js';
import { effectiveMode, SKIP_ANNOTATION, type Policy } from './policy.js';

export type SkipReason = 'not-a-workload' | 'excluded-namespace' | 'skip-annotation';

export interface ActiveRule {
  rule: Rule;
  mode: Exclude<Mode, 'off'>;
}

export type Selection =
  { workload: Workload; rules: ActiveRule[]; skipped?: undefined } | { workload?: Workload; rules: []; skipped: SkipReason };

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

export interface SelectionOptions {
  /** Namespace of the request, used when the object does not name one. */
  namespace?: string;
  /** Only rules of this type. */
  ruleType?: RuleType;
  /** Only rules in this mode. */
  mode?: Exclude<Mode, 'off'>;
}

/** Which rules apply to an object under a policy, and in which mode; or why none do. */
export function selectRules(object: unknown, policy: Policy, options: SelectionOptions = {}): Selection {
  const workload = describeWorkload(object);
  if (workload === undefined) return { rules: [], skipped: 'not-a-workload' };
  const namespace = workload.namespace ?? options.namespace;
  if (namespace !== undefined && policy.exclude.namespaces.includes(namespace)) {
    return { workload, rules: [], skipped: 'excluded-namespace' };
  }
  const optedOut = policy.allowSkipAnnotation ? optedOutRules(workload.annotations) : new Set<string>();
  if (optedOut.has('all')) return { workload, rules: [], skipped: 'skip-annotation' };
  const rules: ActiveRule[] = [];
  for (const rule of RULES) {
    if (optedOut.has(rule.meta.id) || (options.ruleType !== undefined && rule.meta.type !== options.ruleType)) continue;
    const mode = effectiveMode(policy, rule);
    if (mode !== 'off' && (options.mode === undefined || options.mode === mode)) rules.push({ rule, mode });
  }
  return { workload, rules };
}
