import { describeException, type ExceptionReport, type ReportFinding, type ReportSummary } from '../engine/report.js';
import type { Style } from './style.js';

export interface Report {
  findings: ReportFinding[];
  summary: ReportSummary & { files?: number; namespaces?: number };
  exceptions?: ExceptionReport[];
}

export function formatJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function marker(finding: ReportFinding, style: Style): string {
  if (finding.type === 'mutating') return style.cyan('+');
  return finding.mode === 'enforce' ? style.red('✗') : style.yellow('!');
}

function objectHeading(finding: ReportFinding): string {
  const where = finding.namespace === '' ? finding.name : `${finding.namespace}/${finding.name}`;
  return `${finding.kind} ${where}${finding.line === undefined ? '' : ` (line ${finding.line})`}`;
}

/**
 * Findings for people, grouped by a first-level key (file or namespace) and then by object.
 * `✗` is denied, `!` is a warning (audit), `+` is a change the mutating webhook makes.
 */
export function formatTable(report: Report, groupBy: (finding: ReportFinding) => string, style: Style): string {
  const lines: string[] = [];
  let group: string | undefined;
  let object: string | undefined;
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
    lines.push(`    ${marker(finding, style)} ${finding.rule} [${finding.mode}] ${container}${finding.message}`);
    if (finding.type === 'validating') lines.push(style.dim(`        fix: ${finding.fix}`));
  }
  const { summary } = report;
  if (lines.length > 0) lines.push('');
  lines.push(
    `${summary.objects} object(s) checked: ${summary.denied} denied, ${summary.warnings} warning(s), ` +
      `${summary.mutations} change(s) the mutating webhook makes${summary.mutations > 0 ? ' (`lifecycle-guard fix` applies them)' : ''}`,
  );
  for (const exception of report.exceptions ?? []) lines.push(exception.expired ? style.yellow(describeException(exception)) : style.dim(describeException(exception)));
  return `${lines.join('\n')}\n`;
}
