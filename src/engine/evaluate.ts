import { cloneJson } from '../core/clone.js';
import { NO_IMAGE_FACTS, type ImageFacts } from '../core/images.js';
import type { ClusterInfo, Finding } from '../core/types.js';
import { withPodSpec, type ContainerView, type Workload } from '../core/workload.js';
import { isMutatingRule, type Rule } from '../rules/index.js';
import { ruleDocsURL, type Policy } from './policy.js';
import { selectRules, type ActiveRule, type ExceptedRule, type Selection, type SelectionOptions, type SkipReason } from './select.js';

/** A rule that threw: a bug, reported instead of crashing the caller. */
export interface RuleError {
  rule: string;
  message: string;
}

export interface EvaluationOptions extends SelectionOptions {
  /** The previous version of the object (UPDATE): findings it already had are marked `preexisting`. */
  oldObject?: unknown;
  cluster?: ClusterInfo;
  /** Image configs looked up beforehand (none when checking files offline). */
  images?: ImageFacts;
  /**
   * What selectRules returns for the object with these options, when the caller has it already (the
   * webhook selects once for the image lookup and the decision). Never used for oldObject.
   */
  selection?: Selection;
}

export interface RuleRun {
  findings: Finding[];
  errors: RuleError[];
}

export interface Evaluation extends RuleRun {
  skipped?: SkipReason;
  /** Rules an exception of the policy lifted for this object. */
  excepted?: ExceptedRule[];
  workload?: Workload;
}

/** The containers a rule's scope covers in a workload; undefined when the scope leaves the workload out. */
export function containersInScope(rule: Rule, workload: Workload, params: Record<string, unknown>): ContainerView[] | undefined {
  const { scope } = rule.meta;
  if (scope.workloads === 'long-running' && workload.runToCompletion && params.includeRunToCompletion !== true) return undefined;
  return workload.containers.filter((container) => scope.containers.includes(container.role));
}

/**
 * Runs rules on a workload and labels their findings. Mutating rules change `workload` in place,
 * so callers pass a copy when the original must stay as it is.
 */
export function runRules(
  rules: readonly ActiveRule[],
  workload: Workload,
  policy: Policy,
  cluster: ClusterInfo,
  images: ImageFacts = NO_IMAGE_FACTS,
): RuleRun {
  const run: RuleRun = { findings: [], errors: [] };
  for (const { rule, mode } of rules) {
    const params = policy.rules[rule.meta.id] ?? {};
    const containers = containersInScope(rule, workload, params);
    if (containers === undefined) continue;
    const context = { workload, containers, params, cluster, images };
    try {
      const found = isMutatingRule(rule) ? rule.mutate(context) : rule.check(context);
      for (const finding of found) {
        // Object.assign, not `{ ...finding, rule, … }`: V8 (Node 20) gives a spread's result a map
        // outside the transition tree, so each property added after it made a new hidden class,
        // per finding (17 MB of maps and descriptor arrays in an audit of 12,000 objects). Same keys, same order.
        run.findings.push(
          Object.assign({}, finding, {
            rule: rule.meta.id,
            type: rule.meta.type,
            mode,
            fix: finding.fix ?? rule.meta.fix,
            docs: ruleDocsURL(policy, rule.meta.id),
          }),
        );
      }
    } catch (error) {
      run.errors.push({ rule: rule.meta.id, message: error instanceof Error ? error.message : String(error) });
    }
  }
  return run;
}

function findingsOf(
  object: unknown,
  policy: Policy,
  options: EvaluationOptions,
  selection: Selection = selectRules(object, policy, options),
): Evaluation {
  if (selection.skipped !== undefined) return { findings: [], errors: [], skipped: selection.skipped, workload: selection.workload };
  const cluster = options.cluster ?? {};
  const validating = selection.rules.filter(({ rule }) => !isMutatingRule(rule));
  const mutating = selection.rules.filter(({ rule }) => isMutatingRule(rule));
  const checked = runRules(validating, selection.workload, policy, cluster, options.images);
  // Mutating rules report what they would change, so they run on a copy of the pod spec.
  const copy = mutating.length === 0 ? undefined : withPodSpec(selection.workload, cloneJson(selection.workload.podSpec));
  const changes = copy === undefined ? { findings: [], errors: [] } : runRules(mutating, copy, policy, cluster);
  return {
    workload: selection.workload,
    ...(selection.excepted.length === 0 ? {} : { excepted: selection.excepted }),
    findings: [...checked.findings, ...changes.findings],
    errors: [...checked.errors, ...changes.errors],
  };
}

function findingKey(finding: Finding): string {
  return `${finding.rule}\u0000${finding.container ?? ''}`;
}

/**
 * Evaluates an object under a policy: validating rules' violations and what mutating rules would
 * change, each with its mode. Pure; never throws, whatever the object holds.
 */
export function evaluateObject(object: unknown, policy: Policy, options: EvaluationOptions = {}): Evaluation {
  const evaluation = findingsOf(object, policy, options, options.selection);
  if (options.oldObject === undefined || evaluation.findings.length === 0) return evaluation;
  const before = new Set(findingsOf(options.oldObject, policy, options).findings.map(findingKey));
  return {
    ...evaluation,
    findings: evaluation.findings.map((finding) =>
      before.has(findingKey(finding)) ? Object.assign({}, finding, { preexisting: true }) : finding,
    ),
  };
}

/** True when the webhook would deny because of this finding, ignoring UPDATE and ownership leniency. */
export function isEnforcedViolation(finding: Finding): boolean {
  return finding.type === 'validating' && finding.mode === 'enforce';
}
