import { stringify } from 'yaml';
import { readClusterInfo } from '../kube/client.js';
import { kubeClients } from './kube-access.js';
import { buildReports } from '../kube/reports.js';
import { scanCluster, type ScanReport } from '../kube/scanner.js';
import { renderHtmlReport } from './html-report.js';
import { createInspector, registryConfigFile, scanImageLookup } from './images.js';
import { InputError } from './manifests.js';
import { loadPolicyFile } from './policy-file.js';
import { formatJson, formatTable } from './report-format.js';
import { styleFor } from './style.js';

export type AuditFormat = 'table' | 'json' | 'yaml' | 'html';

export interface AuditOptions {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  output: AuditFormat;
  policy?: string;
  pageSize: number;
  registryConfig?: string;
}

function render(report: ScanReport, format: AuditFormat, reportFormat: 'PolicyReport' | 'OpenReports'): string {
  switch (format) {
    case 'json':
      return formatJson({
        findings: report.findings,
        summary: { ...report.summary, namespaces: report.namespaces.length },
        ...(report.exceptions ? { exceptions: report.exceptions } : {}),
        ...(report.uninspectedImages === undefined ? {} : { uninspectedImages: report.uninspectedImages }),
      });
    case 'yaml':
      return stringify({ apiVersion: 'v1', kind: 'List', items: buildReports(report, reportFormat) });
    case 'html':
      return renderHtmlReport(report);
    case 'table':
      return formatTable(report, (finding) => `namespace ${finding.namespace}`, styleFor(process.stdout));
  }
}

/** Scans a live cluster from a laptop, as the background scan does inside `serve`. Returns the summary. */
export async function runAudit(options: AuditOptions): Promise<ScanReport> {
  if (options.namespace !== undefined && options.allNamespaces) throw new InputError('--namespace and --all-namespaces exclude each other');
  const policy = loadPolicyFile(options.policy);
  const inspector = createInspector(undefined, registryConfigFile(options.registryConfig));
  const clients = kubeClients(options.kubeconfig);
  const progress = process.stderr.isTTY
    ? ({ kind, objects }: { kind: string; objects: number }) =>
        process.stderr.write(`\rscanning ${kind}s… ${objects} object(s) checked\u001b[K`)
    : undefined;
  let report: ScanReport;
  try {
    const cluster = await readClusterInfo(clients);
    report = await scanCluster(clients, {
      policy,
      cluster,
      pageSize: options.pageSize,
      inspectImages: scanImageLookup({ inspector, clients }, () => policy),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      ...(progress ? { onProgress: progress } : {}),
    });
  } catch (error) {
    throw new InputError(`cannot scan ${clients.server || 'the cluster'}: ${(error as Error).message}`);
  } finally {
    if (progress) process.stderr.write('\r\u001b[K');
  }
  for (const { image, reason, usedBy } of report.uninspectedImages ?? []) {
    process.stderr.write(
      `warning: image ${image} not inspected (its ENTRYPOINT/CMD was not checked): ${reason} (used by ${usedBy.join(', ')})\n`,
    );
  }
  const reportFormat = policy.scan.reportFormat === 'none' ? 'PolicyReport' : policy.scan.reportFormat;
  process.stdout.write(render(report, options.output, reportFormat));
  return report;
}
