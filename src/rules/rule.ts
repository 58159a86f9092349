import type { z } from 'zod';
import type { ImageFacts } from '../core/images.js';
import type { ClusterInfo, Mode, RuleFinding, RuleType } from '../core/types.js';
import type { ContainerRole, ContainerView, Workload } from '../core/workload.js';

/** What a rule looks at, as data: the engine applies it, so rules do not repeat these tests. */
export interface RuleScope {
  /**
   * `long-running`: Jobs, CronJobs and Pods with restartPolicy Never or OnFailure are exempt (a rule
   * may offer the boolean parameter `includeRunToCompletion` to bring them back); `all`: every workload.
   */
  workloads: 'long-running' | 'all';
  /** Which containers: regular ones (`container`), native sidecars (`sidecar`), run-to-completion `init` containers. */
  containers: readonly ContainerRole[];
  /** Why the scope is what it is, for the rule's reference page. */
  reason: string;
}

/** A measurement shown as a table in a rule's reference page. */
export interface Evidence {
  title: string;
  text: string;
  /** A TSV file (program, package, version, script, result) under docs/rules/: one column per program and version. */
  file: string;
  /** The script that measured it, e.g. scripts/measure-shells.sh. */
  script: string;
}

export interface RuleMetadata {
  /** Public contract: never rename. */
  id: string;
  type: RuleType;
  title: string;
  /** What the rule requires, in one line (the README's rule table). */
  summary: string;
  /** Why the rule exists, in one or two sentences a developer reading a denial understands. */
  why: string;
  /** How to fix a violation. */
  fix: string;
  /**
   * The strongest mode the rule takes from the policy's global `mode`. Extra rules are opt-in
   * (`off`) so that adding one to the project never starts denying what was admitted before.
   */
  defaultMode: Mode;
  scope: RuleScope;
  /** What the rule does not catch or may get wrong, for its reference page. */
  limits?: readonly string[];
  /** Measurements the rule's semantics follow, shown in its reference page. */
  evidence?: readonly Evidence[];
}

export interface RuleContext<Params> {
  workload: Workload;
  /** The workload's containers that the rule's scope covers (views into `workload`). */
  containers: ContainerView[];
  params: Params;
  cluster: ClusterInfo;
  /** Images inspected by the edge (registry lookups), by the `image` string of the container spec. */
  images: ImageFacts;
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
   * Changes `context.workload` (a copy owned by the caller) in place and describes each change: a
   * call that returns no finding has changed nothing (the engine then skips the diff).
   * Idempotent: a second call on the result changes nothing and returns no finding.
   */
  mutate(context: RuleContext<Params>): RuleFinding[];
}

export type Rule<Params = unknown> = ValidatingRule<Params> | MutatingRule<Params>;

export function isMutatingRule<Params>(rule: Rule<Params>): rule is MutatingRule<Params> {
  return rule.meta.type === 'mutating';
}
