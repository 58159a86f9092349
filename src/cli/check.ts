import { evaluateObject, type RuleError } from '../engine/evaluate.js';
import type { Policy } from '../engine/policy.js';
import type { ClusterInfo } from '../core/types.js';
import { summarize, toReportFinding } from '../engine/report.js';
import { objectIdentity, type ManifestFile } from './manifests.js';
import type { Report } from './report-format.js';

/** A rule that failed (a bug, never a violation), with the object it failed on. */
export type LocatedRuleError = RuleError & { file: string; line: number };

export interface CheckResult extends Report {
  errors: LocatedRuleError[];
}

/** How check and fix report a rule that failed: one line, no stack trace. */
export function formatRuleError(error: LocatedRuleError): string {
  return `error: ${error.file}:${error.line}: rule ${error.rule} failed: ${error.message}\n`;
}

/** Evaluates every object of the manifest files as the webhook would on CREATE. */
export function checkManifests(files: readonly ManifestFile[], policy: Policy, cluster: ClusterInfo = {}): CheckResult {
  const result: CheckResult = { findings: [], summary: summarize(0, []), errors: [] };
  let objects = 0;
  for (const file of files) {
    for (const { object, line } of file.objects) {
      objects += 1;
      const evaluation = evaluateObject(object, policy, { cluster });
      const identity = objectIdentity(object);
      for (const finding of evaluation.findings) result.findings.push({ file: file.path, line, ...toReportFinding(identity, finding) });
      for (const error of evaluation.errors) result.errors.push({ file: file.path, line, ...error });
    }
  }
  result.summary = { files: files.length, ...summarize(objects, result.findings) };
  return result;
}
