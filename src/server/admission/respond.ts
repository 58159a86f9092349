import type { ImageFacts } from '../../core/images.js';
import type { Finding } from '../../core/types.js';
import type { RuleError } from '../../engine/evaluate.js';
import type { NamespaceLabels } from '../../engine/exceptions.js';
import type { Selection } from '../../engine/select.js';
import type { AdmissionResponse } from './review.js';

/** kubectl prints each warning on its own line; the API server caps them at 256 characters each and 4 KiB in all. */
const MAX_WARNING_LENGTH = 256;
const MAX_WARNINGS_BYTES = 4096;
const MAX_AUDIT_ANNOTATION_LENGTH = 1024;
/**
 * What one denial lists: kubectl prints the whole message and the API server writes it to events and
 * the audit log, so a Pod with thousands of containers must not produce megabytes of it.
 */
export const MAX_LISTED_FINDINGS = 100;
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** One listed violation: container names and commands come from the object, whose size is the client's choice. */
const MAX_LINE_LENGTH = 512;
/** Distinct fixes listed per rule (image findings each carry their own Dockerfile fix). */
const MAX_FIXES_PER_RULE = 5;

export type Verdict = 'allowed' | 'denied' | 'warned' | 'mutated' | 'error';

/** What an admission handler decided, for the response and for logs and metrics. */
export interface Decision {
  response: AdmissionResponse;
  verdict: Verdict;
  findings: Finding[];
  /** Rules that threw (verdict `error`), for the log. */
  errors?: readonly RuleError[];
  /** The size of a JSON Patch too large to send (see MAX_PATCH_BYTES), for the log and metrics. */
  withheldPatchBytes?: number;
}

/** What a decision reads besides the request and policy, looked up at the edge. */
export interface DecisionInputs {
  /** Labels of namespaces (the review carries none), for exceptions with a namespaceSelector. */
  namespaceLabels?: NamespaceLabels;
  /** Image configs, for containers whose PID 1 the image decides. */
  images?: ImageFacts;
  /** The rules /validate selected for the object (validationSelection), when they were selected before the decision. */
  selection?: Selection;
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function describe(finding: Finding): string {
  return `${finding.container === undefined ? '' : `container "${finding.container}" `}${finding.message}`;
}

function groupByRule(findings: readonly Finding[]): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const group = groups.get(finding.rule);
    if (group === undefined) groups.set(finding.rule, [finding]);
    else group.push(finding);
  }
  return groups;
}

function warningFor(finding: Finding, note: string | undefined): string {
  const prefix = note === undefined ? '' : `${note}: `;
  const warning = `[${finding.rule}] ${prefix}${describe(finding)}`;
  // The link only when it fits whole: a cut URL leads nowhere.
  const withDocs = finding.docs === undefined ? warning : `${warning} (see ${finding.docs})`;
  return withDocs.length <= MAX_WARNING_LENGTH ? withDocs : truncate(warning, MAX_WARNING_LENGTH);
}

function moreFindings(count: number): string {
  return `lifecycle-guard: ${count} more finding(s) not shown; run \`lifecycle-guard check\` on the manifest to list them all`;
}

/**
 * The warnings `warningAt(0..count-1)` under the API server's total size limit, the last line saying
 * how many were left out. Formats only what fits, so the work does not grow with the number of warnings.
 */
function limitedWarnings(count: number, warningAt: (index: number) => string): string[] {
  const kept: string[] = [];
  let bytes = 0;
  for (let index = 0; index < count; index += 1) {
    const warning = warningAt(index);
    const size = Buffer.byteLength(warning);
    const rest = count - index - 1;
    // Room for the "N more" line that would follow, unless this is the last warning.
    const reserve = rest === 0 ? 0 : Buffer.byteLength(moreFindings(rest));
    if (bytes + size + reserve >= MAX_WARNINGS_BYTES) {
      kept.push(moreFindings(count - index));
      break;
    }
    kept.push(warning);
    bytes += size;
  }
  return kept;
}

/** Keeps warnings under the API server's total size limit, saying how many were left out. */
export function limitWarnings(warnings: readonly string[]): string[] {
  return limitedWarnings(warnings.length, (index) => warnings[index] ?? '');
}

/** Warnings for the findings, each with its note (why it is only a warning), within the API server's limits. */
export function warningsFor(findings: readonly Finding[], noteFor: (finding: Finding) => string | undefined): string[] {
  return limitedWarnings(findings.length, (index) => {
    const finding = findings[index] as Finding;
    return warningFor(finding, noteFor(finding));
  });
}

/** Each distinct fix of a rule's findings (an image finding says what to change in its Dockerfile), then its docs link. */
function fixLines(group: readonly Finding[]): string {
  const fixes = new Set(group.map((finding) => `  Fix: ${truncate(finding.fix, MAX_LINE_LENGTH)}`));
  const docs = group[0]?.docs;
  return [...fixes]
    .slice(0, MAX_FIXES_PER_RULE)
    .concat(docs === undefined ? [] : [`  Docs: ${truncate(docs, MAX_LINE_LENGTH)}`])
    .join('\n');
}

/**
 * The denial as kubectl shows it after "denied the request:": the violations grouped by rule, then the
 * rule's fixes and docs link. At most MAX_LISTED_FINDINGS violations and MAX_MESSAGE_BYTES, then a count of the rest.
 */
export function denialMessage(subject: string, findings: readonly Finding[]): string {
  const byRule = groupByRule(findings);
  const header = `lifecycle-guard: ${truncate(subject, MAX_LINE_LENGTH)} violates ${byRule.size} lifecycle rule(s):`;
  const fixes = [...byRule.values()].map(fixLines);
  // Fixes are bounded in number and length, so their size is known; violations share what is left.
  let budget =
    MAX_MESSAGE_BYTES -
    Buffer.byteLength(header) -
    Buffer.byteLength(fixes.join('\n')) -
    Buffer.byteLength(moreFindings(findings.length)) -
    byRule.size -
    2;
  let listed = 0;
  const lines = [header];
  [...byRule.values()].forEach((group, index) => {
    for (const finding of group) {
      if (listed >= MAX_LISTED_FINDINGS) break;
      const line = truncate(`[${finding.rule}] ${describe(finding)}`, MAX_LINE_LENGTH);
      const size = Buffer.byteLength(line) + 1;
      if (size > budget) break;
      lines.push(line);
      budget -= size;
      listed += 1;
    }
    lines.push(fixes[index] ?? '');
  });
  if (listed < findings.length) lines.push(moreFindings(findings.length - listed));
  return lines.join('\n');
}

/** One annotation per rule, so the API server's audit log records every violation (keys get the webhook's prefix). */
export function auditAnnotationsFor(findings: readonly Finding[]): Record<string, string> | undefined {
  if (findings.length === 0) return undefined;
  const annotations: Record<string, string> = {};
  for (const [rule, group] of groupByRule(findings)) {
    let text = '';
    for (const finding of group) {
      text += `${text === '' ? '' : '; '}${finding.mode}: ${describe(finding)}`;
      if (text.length > MAX_AUDIT_ANNOTATION_LENGTH) break; // the rest would be cut anyway
    }
    annotations[rule] = truncate(text, MAX_AUDIT_ANNOTATION_LENGTH);
  }
  return annotations;
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
