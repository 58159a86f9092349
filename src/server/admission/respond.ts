import type { Finding } from '../../core/types.js';
import type { RuleError } from '../../engine/evaluate.js';
import type { AdmissionResponse } from './review.js';

/** kubectl prints each warning on its own line; the API server caps them at 256 characters each and 4 KiB in all. */
const MAX_WARNING_LENGTH = 256;
const MAX_WARNINGS_BYTES = 4096;
const MAX_AUDIT_ANNOTATION_LENGTH = 1024;

export type Verdict = 'allowed' | 'denied' | 'warned' | 'mutated' | 'error';

/** What an admission handler decided, for the response and for logs and metrics. */
export interface Decision {
  response: AdmissionResponse;
  verdict: Verdict;
  findings: Finding[];
  /** Rules that threw (verdict `error`), for the log. */
  errors?: readonly RuleError[];
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function describe(finding: Finding): string {
  return `${finding.container === undefined ? '' : `container "${finding.container}" `}${finding.message}`;
}

function groupByRule(findings: readonly Finding[]): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) groups.set(finding.rule, [...(groups.get(finding.rule) ?? []), finding]);
  return groups;
}

function warningFor(finding: Finding, note: string | undefined): string {
  const prefix = note === undefined ? '' : `${note}: `;
  return truncate(`[${finding.rule}] ${prefix}${describe(finding)}`, MAX_WARNING_LENGTH);
}

function moreWarnings(count: number): string {
  return `lifecycle-guard: ${count} more finding(s) not shown; run \`lifecycle-guard check\` on the manifest to list them all`;
}

/** Keeps warnings under the API server's total size limit (the "N more" line included), saying how many were left out. */
export function limitWarnings(warnings: readonly string[]): string[] {
  const kept: string[] = [];
  let bytes = 0;
  for (const [index, warning] of warnings.entries()) {
    const size = Buffer.byteLength(warning);
    const rest = warnings.length - index - 1;
    // Room for the "N more" line that would follow, unless this is the last warning.
    const reserve = rest === 0 ? 0 : Buffer.byteLength(moreWarnings(rest));
    if (bytes + size + reserve >= MAX_WARNINGS_BYTES) {
      kept.push(moreWarnings(warnings.length - index));
      break;
    }
    kept.push(warning);
    bytes += size;
  }
  return kept;
}

export function warningsFor(findings: readonly Finding[], noteFor: (finding: Finding) => string | undefined): string[] {
  return limitWarnings(findings.map((finding) => warningFor(finding, noteFor(finding))));
}

/** The denial as kubectl shows it after "denied the request:": every violation, then each rule's fix once. */
export function denialMessage(subject: string, findings: readonly Finding[]): string {
  const byRule = groupByRule(findings);
  const lines = [...byRule.values()].flatMap((group) => [
    ...group.map((finding) => `[${finding.rule}] ${describe(finding)}`),
    `  Fix: ${group[0]?.fix ?? ''}`,
  ]);
  return `lifecycle-guard: ${subject} violates ${byRule.size} lifecycle rule(s):\n${lines.join('\n')}`;
}

/** One annotation per rule, so the API server's audit log records every violation (keys get the webhook's prefix). */
export function auditAnnotationsFor(findings: readonly Finding[]): Record<string, string> | undefined {
  if (findings.length === 0) return undefined;
  return Object.fromEntries(
    [...groupByRule(findings)].map(([rule, group]) => [
      rule,
      truncate(group.map((finding) => `${finding.mode}: ${describe(finding)}`).join('; '), MAX_AUDIT_ANNOTATION_LENGTH),
    ]),
  );
}

/** A rule failed inside the webhook: the policy's failureMode says whether to admit (with a warning) or deny. */
export function ruleFailureDecision(uid: string, errors: readonly RuleError[], failureMode: 'allow' | 'deny'): Decision {
  const names = errors.map((error) => error.rule).join(', ');
  if (failureMode === 'deny') {
    const message = `lifecycle-guard: internal error in rule(s) ${names}; denied because the policy's failureMode is deny`;
    return {
      verdict: 'error',
      findings: [],
      errors,
      response: { uid, allowed: false, status: { code: 500, reason: 'InternalError', message } },
    };
  }
  const warning = `lifecycle-guard: internal error in rule(s) ${names}; admitted unchecked because the policy's failureMode is allow`;
  return { verdict: 'error', findings: [], errors, response: { uid, allowed: true, warnings: [truncate(warning, MAX_WARNING_LENGTH)] } };
}
