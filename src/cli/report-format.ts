import { describeException, type ExceptionReport, type ReportFinding, type ReportSummary } from '../engine/report.js';
import type { SkipReason } from '../engine/select.js';
import type { Style } from './style.js';

/** An object the policy leaves alone (excluded namespace, skip annotation): listed so that it does not read as a pass. */
export interface SkippedObject {
  file?: string;
  line?: number;
  kind: string;
  namespace: string;
  name: string;
  reason: Exclude<SkipReason, 'not-a-workload'>;
  /** The reason in words, naming the policy key or annotation to change. */
  detail: string;
}

/** A file that could not be checked (unreadable, invalid YAML); the others still are. */
export interface InputProblem {
  file: string;
  line?: number;
  message: string;
}

export interface Report {
  findings: ReportFinding[];
  summary: ReportSummary & { files?: number; namespaces?: number; skipped?: number };
  skipped?: SkippedObject[];
  /** Files that could not be checked; the command exits 2 after checking the others. */
  invalidFiles?: InputProblem[];
  /** Files that hold no Kubernetes object (empty, comments only, plain YAML data). */
  filesWithoutObjects?: string[];
  exceptions?: ExceptionReport[];
}

export function formatJson(report: Report): string {
  return [...formatJsonPieces(report)].join('');
}

/** `JSON.stringify(value, null, 2)` with every line after the first indented by `depth` more spaces. */
const nested = (value: unknown, depth: number) => (JSON.stringify(value, null, 2) ?? 'null').replaceAll('\n', `\n${' '.repeat(depth)}`);

/**
 * The JSON report (`JSON.stringify(report, null, 2)` and a newline) piece by piece, one piece per
 * element of its lists: a cluster's audit is written without one string of all its findings.
 */
export function* formatJsonPieces(report: Report): Generator<string> {
  const entries = Object.entries(report).filter(([, value]) => value !== undefined);
  if (entries.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (const [index, [key, value]] of entries.entries()) {
    const comma = index < entries.length - 1 ? ',' : '';
    if (Array.isArray(value) && value.length > 0) {
      yield `  ${JSON.stringify(key)}: [\n`;
      for (const [position, item] of value.entries()) yield `    ${nested(item, 4)}${position < value.length - 1 ? ',' : ''}\n`;
      yield `  ]${comma}\n`;
    } else {
      yield `  ${JSON.stringify(key)}: ${nested(value, 2)}${comma}\n`;
    }
  }
  yield '}\n';
}

const notApplied = (finding: ReportFinding) => finding.type === 'mutating' && finding.mode === 'audit';

function marker(finding: ReportFinding, style: Style): string {
  if (finding.type === 'mutating') return notApplied(finding) ? style.dim('~') : style.cyan('+');
  return finding.mode === 'enforce' ? style.red('✗') : style.yellow('!');
}

function objectHeading(object: { kind: string; namespace: string; name: string; line?: number | undefined }): string {
  const where = object.namespace === '' ? object.name : `${object.namespace}/${object.name}`;
  return `${object.kind} ${where}${object.line === undefined ? '' : ` (line ${object.line})`}`;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function summaryLine(summary: Report['summary']): string {
  const skipped = summary.skipped ?? 0;
  const checked =
    skipped > 0
      ? `${summary.objects - skipped} object(s) checked, ${skipped} skipped (listed above)`
      : `${summary.objects} object(s) checked`;
  const parts = [
    `${summary.deniedObjects} denied (${count(summary.denied, 'finding')})`,
    `${summary.warnedObjects} admitted with warnings (${count(summary.warnings, 'finding')})`,
  ];
  let changes = `${summary.appliedMutations} change(s) the mutating webhook makes`;
  if (summary.appliedMutations > 0) changes += ' (`lifecycle-guard fix` applies them)';
  if (summary.auditMutations > 0) changes += `, ${summary.auditMutations} more in audit mode (not applied)`;
  return `${checked}: ${parts.join(', ')}, ${changes}`;
}

/**
 * Findings for people, grouped by a first-level key (file or namespace) and then by object.
 * `✗` is denied, `!` is a warning (audit), `+` is a change the mutating webhook makes, `~` one it
 * would make but does not, in audit mode. Each rule's fix is printed once, after the findings.
 */
export function formatTable(report: Report, groupBy: (finding: ReportFinding) => string, style: Style): string {
  const lines: string[] = [];
  let group: string | undefined;
  let object: string | undefined;
  const fixes = new Map<string, string>();
  for (const finding of report.findings) {
    if (groupBy(finding) !== group) {
      group = groupBy(finding);
      object = undefined;
      lines.push(style.bold(group));
    }
    if (objectHeading(finding) !== object) {
      object = objectHeading(finding);
      lines.push(`  ${object}`);
    }
    const container = finding.container === '' ? '' : `container ${finding.container}: `;
    const mode = notApplied(finding) ? 'audit: not applied' : finding.mode;
    lines.push(`    ${marker(finding, style)} ${finding.rule} [${mode}] ${container}${finding.message}`);
    if (finding.type === 'validating') fixes.set(finding.rule, finding.fix);
  }
  if (fixes.size > 0) {
    lines.push('', style.bold('How to fix'));
    for (const [rule, fix] of fixes) lines.push(`  ${rule}: ${style.dim(fix)}`);
  }
  if (report.skipped !== undefined && report.skipped.length > 0) {
    lines.push('', style.bold('Skipped (not checked)'));
    for (const skipped of report.skipped) {
      const file = skipped.file === undefined ? '' : `${skipped.file}: `;
      lines.push(`  ${file}${objectHeading(skipped)}: ${skipped.detail}`);
    }
  }
  if (lines.length > 0) lines.push('');
  lines.push(summaryLine(report.summary));
  for (const exception of report.exceptions ?? [])
    lines.push(exception.expired ? style.yellow(describeException(exception)) : style.dim(describeException(exception)));
  return `${lines.join('\n')}\n`;
}
