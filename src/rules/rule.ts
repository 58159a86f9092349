import type { z } from 'zod';
import type { ClusterInfo, Mode, RuleFinding, RuleType } from '../core/types.js';
import type { Workload } from '../core/workload.js';

export interface RuleMetadata {
  /** Public contract: never rename. */
  id: string;
  type: RuleType;
  title: string;
  /** Why the rule exists, in one or two sentences a developer reading a denial understands. */
  why: string;
  /** How to fix a violation. */
  fix: string;
  /**
   * The strongest mode the rule takes from the policy's global `mode`. Extra rules are opt-in
   * (`off`) so that adding one to the project never starts denying what was admitted before.
   */
  defaultMode: Mode;
}

export interface RuleContext<Params> {
  workload: Workload;
  params: Params;
  cluster: ClusterInfo;
}

interface RuleBase<Params> {
  meta: RuleMetadata;
  /**
   * Schema of the rule's parameters under `rules.<id>` in the policy, with their defaults.
   * Validated when the policy loads, so `check` and `mutate` can trust the values: what it parses
   * to must be the `Params` that `check` and `mutate` take.
   */
  params: z.ZodObject & z.ZodType<Params>;
}

export interface ValidatingRule<Params> extends RuleBase<Params> {
  /** Violations of the rule; never throws, whatever the workload holds. */
  check(context: RuleContext<Params>): RuleFinding[];
}

export interface MutatingRule<Params> extends RuleBase<Params> {
  /**
   * Changes `context.workload` (a copy owned by the caller) in place and describes each change.
   * Idempotent: a second call on the result changes nothing and returns no finding.
   */
  mutate(context: RuleContext<Params>): RuleFinding[];
}

export type Rule<Params = unknown> = ValidatingRule<Params> | MutatingRule<Params>;

export function isMutatingRule<Params>(rule: Rule<Params>): rule is MutatingRule<Params> {
  return rule.meta.type === 'mutating';
}
