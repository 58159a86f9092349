import type { ImageFacts } from '../core/images.js';
import { evaluateObject, type RuleError } from '../engine/evaluate.js';
import { SKIP_ANNOTATION, type Policy } from '../engine/policy.js';
import type { SkipReason } from '../engine/select.js';
import type { ClusterInfo } from '../core/types.js';
import { ExceptionTally, summarize, toReportFinding } from '../engine/report.js';
import { namespaceLabelsIn, objectIdentity, type ManifestValues } from './manifests.js';
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

/** Evaluates every object of the manifest files as the webhook would on CREATE (with image configs when inspected). */
export function checkManifests(
  files: readonly ManifestValues[],
  policy: Policy,
  cluster: ClusterInfo = {},
  images?: ImageFacts,
): CheckResult {
  const result: CheckResult = { findings: [], summary: summarize(0, []), errors: [], skipped: [] };
  let objects = 0;
  const namespaceLabels = namespaceLabelsIn(files);
  const exceptions = new ExceptionTally();
  for (const file of files) {
    for (const { object, line } of file.objects) {
      objects += 1;
      const evaluation = evaluateObject(object, policy, { cluster, namespaceLabels, ...(images === undefined ? {} : { images }) });
      exceptions.add(evaluation.excepted);
      const identity = objectIdentity(object);
      if (evaluation.skipped !== undefined && evaluation.skipped !== 'not-a-workload') {
        result.skipped.push({
          file: file.path,
          line,
          ...identity,
          reason: evaluation.skipped,
          detail: skipDetail(evaluation.skipped, identity.namespace),
        });
      }
      for (const finding of evaluation.findings) result.findings.push({ file: file.path, line, ...toReportFinding(identity, finding) });
      for (const error of evaluation.errors) result.errors.push({ file: file.path, line, ...error });
    }
  }
  result.summary = { files: files.length, ...summarize(objects, result.findings), skipped: result.skipped.length };
  const exceptionReport = exceptions.report(policy);
  return exceptionReport === undefined ? result : { ...result, exceptions: exceptionReport };
}
