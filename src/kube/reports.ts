import type { Logger } from 'pino';
import type { Policy } from '../engine/policy.js';
import { isStatus, type KubeClients } from './client.js';
import { describeException } from '../engine/report.js';
import type { ScanExcepted, ScanFinding, ScanReport } from './scanner.js';

export type ReportFormat = Exclude<Policy['scan']['reportFormat'], 'none'>;

/** Where each format lives; OpenReports is PolicyReport's successor, with the same results and summary. */
export const REPORT_APIS = {
  PolicyReport: { group: 'wgpolicyk8s.io', version: 'v1alpha2', plural: 'policyreports', kind: 'PolicyReport' },
  OpenReports: { group: 'openreports.io', version: 'v1alpha1', plural: 'reports', kind: 'Report' },
} as const;

export const REPORT_NAME = 'lifecycle-guard';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'lifecycle-guard' };
const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=lifecycle-guard';

/** A report object's size must stay well under etcd's 1.5 MiB; past this many results, the rest are counted only. */
const MAX_RESULTS = 2000;

function result(finding: ScanFinding, timestamp: { seconds: number; nanos: number }) {
  return {
    source: 'lifecycle-guard',
    policy: 'lifecycle-guard',
    rule: finding.rule,
    category: 'Pod Lifecycle',
    severity: finding.type === 'validating' ? 'medium' : 'low',
    result: finding.mode === 'enforce' ? 'fail' : 'warn',
    scored: true,
    message: finding.container === '' ? finding.message : `container "${finding.container}" ${finding.message}`,
    timestamp,
    resources: [{ apiVersion: finding.apiVersion, kind: finding.kind, name: finding.name, namespace: finding.namespace, uid: finding.uid }],
    properties: {
      container: finding.container,
      mode: finding.mode,
      fix: finding.fix,
      ...(finding.docs === undefined ? {} : { docs: finding.docs }),
    },
  };
}

/** A rule lifted by a policy exception: a `skip` result that names the exception, its reason and end date. */
function skipResult(entry: ScanExcepted, scan: ScanReport, timestamp: { seconds: number; nanos: number }) {
  const exception = scan.exceptions?.[entry.exception];
  return {
    source: 'lifecycle-guard',
    policy: 'lifecycle-guard',
    rule: entry.rule,
    category: 'Pod Lifecycle',
    result: 'skip',
    scored: false,
    message: exception === undefined ? 'excepted by the policy' : `excepted by the policy: ${describeException(exception)}`,
    timestamp,
    resources: [{ apiVersion: entry.apiVersion, kind: entry.kind, name: entry.name, namespace: entry.namespace, uid: entry.uid }],
    properties: {
      exception: String(entry.exception + 1),
      ...(exception?.reason === undefined ? {} : { reason: exception.reason }),
      ...(exception?.expires === undefined ? {} : { expires: exception.expires }),
    },
  };
}

/** One report per namespace of the scan, in the chosen format. `pass` counts objects without any finding. */
export function buildReports(scan: ScanReport, format: ReportFormat): Record<string, unknown>[] {
  const api = REPORT_APIS[format];
  const time = new Date(scan.generatedAt).getTime();
  const timestamp = { seconds: Math.floor(time / 1000), nanos: 0 };
  return scan.namespaces.map((namespace) => {
    const findings = scan.findings.filter((finding) => finding.namespace === namespace);
    const failingObjects = new Set(findings.map((finding) => `${finding.kind}/${finding.name}`));
    const skipped = (scan.excepted ?? []).filter((entry) => entry.namespace === namespace);
    return {
      apiVersion: `${api.group}/${api.version}`,
      kind: api.kind,
      metadata: { name: REPORT_NAME, namespace, labels: MANAGED_BY },
      ...(format === 'OpenReports' ? { source: 'lifecycle-guard' } : {}),
      scope: { apiVersion: 'v1', kind: 'Namespace', name: namespace },
      summary: {
        pass: (scan.objectsByNamespace[namespace] ?? 0) - failingObjects.size,
        fail: findings.filter((finding) => finding.mode === 'enforce').length,
        warn: findings.filter((finding) => finding.mode === 'audit').length,
        error: 0,
        skip: skipped.length,
      },
      results: [
        ...findings.slice(0, MAX_RESULTS).map((finding) => result(finding, timestamp)),
        ...skipped.slice(0, MAX_RESULTS).map((entry) => skipResult(entry, scan, timestamp)),
      ].slice(0, MAX_RESULTS),
    };
  });
}

async function deleteReports(clients: KubeClients, api: (typeof REPORT_APIS)[ReportFormat], keep: ReadonlySet<string>): Promise<number> {
  const { group, version, plural } = api;
  let existing: { items?: { metadata?: { name?: string; namespace?: string } }[] };
  try {
    existing = (await clients.custom.listClusterCustomObject({
      group,
      version,
      plural,
      labelSelector: MANAGED_BY_SELECTOR,
    })) as typeof existing;
  } catch (error) {
    if (isStatus(error, 404)) return 0; // the other format's CRD is not installed
    throw error;
  }
  let deleted = 0;
  for (const item of existing.items ?? []) {
    const namespace = item.metadata?.namespace ?? '';
    if (keep.has(namespace) || item.metadata?.name !== REPORT_NAME) continue;
    await clients.custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name: REPORT_NAME }).catch((error: unknown) => {
      if (!isStatus(error, 404)) throw error;
    });
    deleted += 1;
  }
  return deleted;
}

/**
 * Writes one report per namespace, updated in place (never duplicated), and deletes this tool's
 * reports in namespaces that no longer hold anything to report on, and those of the other format.
 */
export async function writeReports(
  clients: KubeClients,
  scan: ScanReport,
  format: ReportFormat,
  logger: Logger,
): Promise<{ written: number; deleted: number }> {
  const { group, version, plural } = REPORT_APIS[format];
  let written = 0;
  for (const body of buildReports(scan, format)) {
    const namespace = (body.metadata as { namespace: string }).namespace;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const existing = (await clients.custom
          .getNamespacedCustomObject({ group, version, namespace, plural, name: REPORT_NAME })
          .catch((error: unknown) => {
            if (isStatus(error, 404)) return undefined;
            throw error;
          })) as { metadata?: { resourceVersion?: string } } | undefined;
        if (existing === undefined) {
          await clients.custom.createNamespacedCustomObject({ group, version, namespace, plural, body });
        } else {
          const resourceVersion = existing.metadata?.resourceVersion;
          const replacement = { ...body, metadata: { ...(body.metadata as object), resourceVersion } };
          await clients.custom.replaceNamespacedCustomObject({ group, version, namespace, plural, name: REPORT_NAME, body: replacement });
        }
        written += 1;
        break;
      } catch (error) {
        if (!isStatus(error, 409) || attempt === 2) throw error; // conflict: read again and retry
      }
    }
  }
  const current = new Set(scan.namespaces);
  let deleted = 0;
  for (const [name, api] of Object.entries(REPORT_APIS)) {
    // Stale: namespaces with nothing left to report on, and every report of the format not in use.
    const keep = name === format ? current : new Set<string>();
    deleted += await deleteReports(clients, api, keep);
  }
  logger.info({ format, written, deleted }, 'reports written');
  return { written, deleted };
}
