// `audit -o yaml`: the scan as a List of PolicyReports (or OpenReports). A module of its own, imported on
// demand, so that the audit's thread loads the YAML writer only for this format; `yaml` is imported
// statically here because the build's bundles give a CommonJS package imported dynamically a default
// export only (scripts/build.mjs refuses that).
import { stringify } from 'yaml';
import { buildReports, type ReportFormat } from '../kube/reports.js';
import type { ScanReport } from '../kube/scanner.js';

export function renderYamlReports(report: ScanReport, format: ReportFormat): string {
  return stringify({ apiVersion: 'v1', kind: 'List', items: buildReports(report, format) });
}
