import { once } from 'node:events';
import { readClusterInfo } from '../kube/client.js';
import { kubeClients } from './kube-access.js';
import { scanCluster, type ScanReport } from '../kube/scanner.js';
import { createInspector, registryConfigFile, scanImageLookup } from './images.js';
import { InputError } from './input-error.js';
import { loadPolicyFile } from './policy-file.js';
import { formatJsonPieces, formatTable } from './report-format.js';
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

/** Whether stdout and stderr are terminals: the audit runs in a worker thread, whose own streams never are. */
export interface AuditTerminal {
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
}

/** Pieces of output written together: few writes, and never one string of a whole cluster's findings. */
const WRITE_BYTES = 64 * 1024;

function* batched(pieces: Iterable<string>): Generator<string> {
  let batch = '';
  for (const piece of pieces) {
    batch += piece;
    if (batch.length >= WRITE_BYTES) {
      yield batch;
      batch = '';
    }
  }
  if (batch !== '') yield batch;
}

async function* render(
  report: ScanReport,
  format: AuditFormat,
  reportFormat: 'PolicyReport' | 'OpenReports',
  terminal: AuditTerminal,
): AsyncGenerator<string> {
  if (format === 'json') {
    yield* batched(
      formatJsonPieces({
        findings: report.findings,
        summary: { ...report.summary, namespaces: report.namespaces.length },
        ...(report.exceptions ? { exceptions: report.exceptions } : {}),
        ...(report.uninspectedImages === undefined ? {} : { uninspectedImages: report.uninspectedImages }),
      }),
    );
  } else {
    yield await renderWhole(report, format, reportFormat, terminal);
  }
}

/** The YAML and HTML renderers are loaded only for these formats: the audit's thread holds less for the others. */
async function renderWhole(
  report: ScanReport,
  format: Exclude<AuditFormat, 'json'>,
  reportFormat: 'PolicyReport' | 'OpenReports',
  terminal: AuditTerminal,
): Promise<string> {
  switch (format) {
    case 'yaml': {
      const { renderYamlReports } = await import('./report-yaml.js');
      return renderYamlReports(report, reportFormat);
    }
    case 'html': {
      const { renderHtmlReport } = await import('./html-report.js');
      return renderHtmlReport(report);
    }
    case 'table':
      return formatTable(report, (finding) => `namespace ${finding.namespace}`, styleFor({ isTTY: terminal.stdoutIsTTY }));
  }
}

/** Scans a live cluster from a laptop, as the background scan does inside `serve`. Returns the summary. */
export async function runAudit(options: AuditOptions, terminal: AuditTerminal): Promise<ScanReport> {
  if (options.namespace !== undefined && options.allNamespaces) throw new InputError('--namespace and --all-namespaces exclude each other');
  const policy = loadPolicyFile(options.policy);
  const inspector = createInspector(undefined, registryConfigFile(options.registryConfig));
  const clients = kubeClients(options.kubeconfig);
  const progress = terminal.stderrIsTTY
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
  const warnings = (report.uninspectedImages ?? []).map(
    ({ image, reason, usedBy }) =>
      `warning: image ${image} not inspected (its ENTRYPOINT/CMD was not checked): ${reason} (used by ${usedBy.join(', ')})\n`,
  );
  // From a worker thread, stderr and stdout reach the terminal separately: the progress line is
  // cleared and the warnings are out before the report, as when both were written from one thread.
  await new Promise<void>((resolve) => process.stderr.write(warnings.join(''), () => resolve()));
  const reportFormat = policy.scan.reportFormat === 'none' ? 'PolicyReport' : policy.scan.reportFormat;
  // A worker thread's stdout buffers whatever it is given: waiting for it keeps one batch in memory at a time.
  for await (const text of render(report, options.output, reportFormat, terminal)) {
    if (!process.stdout.write(text)) await once(process.stdout, 'drain');
  }
  return report;
}
