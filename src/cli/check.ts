import type { ImageFacts } from '../core/images.js';
import { evaluateObject, type EvaluationOptions, type RuleError } from '../engine/evaluate.js';
import { SKIP_ANNOTATION, type Policy } from '../engine/policy.js';
import type { ExceptedRule, SkipReason } from '../engine/select.js';
import type { ClusterInfo } from '../core/types.js';
import type { NamespaceLabels } from '../engine/exceptions.js';
import { ExceptionTally, summarize, toReportFinding, type ReportFinding } from '../engine/report.js';
import { namesKind } from './inputs.js';
import { objectIdentity, type ManifestEntry } from './manifests.js';
import type { Report, SkippedObject } from './report-format.js';

/** A rule that failed (a bug, never a violation), with the object it failed on. */
export type LocatedRuleError = RuleError & { file: string; line: number };

export interface CheckResult extends Report {
  errors: LocatedRuleError[];
  skipped: SkippedObject[];
}

/** How check and fix report a rule that failed: one line, no stack trace. */
export function formatRuleError(error: LocatedRuleError): string {
  return `error: ${error.file}:${error.line}: rule ${error.rule} failed: ${error.message}\n`;
}

function skipDetail(reason: Exclude<SkipReason, 'not-a-workload'>, namespace: string): string {
  return reason === 'excluded-namespace'
    ? `namespace ${namespace} is in the policy's exclude.namespaces`
    : `annotation ${SKIP_ANNOTATION}: all`;
}

export interface CheckContext {
  cluster?: ClusterInfo;
  /** Labels of the namespaces among the inputs, for exceptions with a namespaceSelector (see namespaceLabelsIn). */
  namespaceLabels?: NamespaceLabels;
  /** Image configs, with --inspect-images. */
  images?: ImageFacts;
}

/**
 * Evaluates the objects of manifest files as the webhook would on CREATE, one object at a time as
 * the files are read: nothing of an object is kept but what it is reported for.
 */
export class ManifestChecker {
  readonly #findings: ReportFinding[] = [];
  readonly #errors: LocatedRuleError[] = [];
  readonly #skipped: SkippedObject[] = [];
  readonly #exceptions = new ExceptionTally();
  readonly #policy: Policy;
  readonly #options: EvaluationOptions;
  #files = 0;
  #objects = 0;

  constructor(policy: Policy, { cluster = {}, namespaceLabels, images }: CheckContext = {}) {
    this.#policy = policy;
    this.#options = { cluster, ...(namespaceLabels === undefined ? {} : { namespaceLabels }), ...(images === undefined ? {} : { images }) };
  }

  /**
   * Checks a file's objects as they are read. What they yield counts only once the whole file has
   * been read: when reading fails part way (invalid YAML in a later document), the error goes up and
   * the file is reported as invalid, as if none of it had been checked. Returns how many objects name their kind.
   */
  checkFile(file: string, objects: Iterable<ManifestEntry>): number {
    const marks = { findings: this.#findings.length, errors: this.#errors.length, skipped: this.#skipped.length };
    const excepted: (readonly ExceptedRule[] | undefined)[] = [];
    let named = 0;
    try {
      for (const { object, line } of objects) {
        const evaluation = evaluateObject(object, this.#policy, this.#options);
        excepted.push(evaluation.excepted);
        if (namesKind(object)) named += 1;
        const identity = objectIdentity(object);
        if (evaluation.skipped !== undefined && evaluation.skipped !== 'not-a-workload') {
          const detail = skipDetail(evaluation.skipped, identity.namespace);
          this.#skipped.push({ file, line, ...identity, reason: evaluation.skipped, detail });
        }
        for (const finding of evaluation.findings) this.#findings.push({ file, line, ...toReportFinding(identity, finding) });
        for (const error of evaluation.errors) this.#errors.push({ file, line, ...error });
      }
    } catch (error) {
      this.#findings.length = marks.findings;
      this.#errors.length = marks.errors;
      this.#skipped.length = marks.skipped;
      throw error;
    }
    this.#files += 1;
    this.#objects += excepted.length;
    for (const rules of excepted) this.#exceptions.add(rules);
    return named;
  }

  result(): CheckResult {
    const summary = { files: this.#files, ...summarize(this.#objects, this.#findings), skipped: this.#skipped.length };
    const result: CheckResult = { findings: this.#findings, summary, errors: this.#errors, skipped: this.#skipped };
    const exceptions = this.#exceptions.report(this.#policy);
    return exceptions === undefined ? result : { ...result, exceptions };
  }
}
