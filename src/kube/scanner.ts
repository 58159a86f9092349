import type { KubernetesObject } from '@kubernetes/client-node';
import { asObjectArray, asString, getPath, type ClusterInfo } from '../core/types.js';
import { evaluateObject } from '../engine/evaluate.js';
import type { Policy } from '../engine/policy.js';
import { summarize, toReportFinding, type AuditReport, type ReportFinding } from '../engine/report.js';
import type { KubeClients } from './client.js';

/** Every pod-bearing kind, owners before what they own. */
export const SCANNED_KINDS = [
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet' },
  { apiVersion: 'v1', kind: 'ReplicationController' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'Pod' },
] as const;

const SCANNED_KIND_NAMES: ReadonlySet<string> = new Set(SCANNED_KINDS.map(({ kind }) => kind));

/** A finding with the identity of the object it was found on, as reports need it. */
export interface ScanFinding extends ReportFinding {
  apiVersion: string;
  uid: string;
}

export interface ScanReport extends AuditReport {
  findings: ScanFinding[];
  /** Objects checked, per namespace (a report's pass count needs it). */
  objectsByNamespace: Record<string, number>;
}

export interface ScanOptions {
  policy: Policy;
  cluster?: ClusterInfo;
  /** Only this namespace; all namespaces when absent. */
  namespace?: string;
  /** Objects per list request: bounds memory, whatever the cluster's size. */
  pageSize?: number;
  /** Called after each page, for progress output. */
  onProgress?: (progress: { kind: string; objects: number }) => void;
}

/** Objects whose controller is itself scanned (a Deployment's ReplicaSets, their Pods) would repeat its findings. */
function isControlledByScannedKind(object: unknown): boolean {
  const owner = asObjectArray(getPath(object, ['metadata', 'ownerReferences'])).find((reference) => reference.controller === true);
  return owner !== undefined && SCANNED_KIND_NAMES.has(asString(owner.kind) ?? '');
}

/**
 * Lists every pod-bearing object page by page (limit and continue) and evaluates every rule,
 * validating and mutating alike: for what already runs, a missing preStop delay is a finding too.
 */
export async function scanCluster(clients: KubeClients, options: ScanOptions): Promise<ScanReport> {
  const findings: ScanFinding[] = [];
  const objectsByNamespace: Record<string, number> = {};
  let objects = 0;
  for (const { apiVersion, kind } of SCANNED_KINDS) {
    let continueToken: string | undefined;
    do {
      const page = await clients.objects.list<KubernetesObject>(
        apiVersion,
        kind,
        options.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        options.pageSize ?? 500,
        continueToken,
      );
      for (const item of page.items) {
        const object = { ...item, apiVersion, kind };
        if (isControlledByScannedKind(object)) continue;
        const evaluation = evaluateObject(object, options.policy, { cluster: options.cluster ?? {} });
        if (evaluation.skipped !== undefined) continue;
        const namespace = object.metadata?.namespace ?? '';
        objects += 1;
        objectsByNamespace[namespace] = (objectsByNamespace[namespace] ?? 0) + 1;
        const identity = { kind, namespace, name: object.metadata?.name ?? '' };
        for (const finding of evaluation.findings) {
          findings.push({ apiVersion, uid: object.metadata?.uid ?? '', ...toReportFinding(identity, finding) });
        }
      }
      continueToken = page.metadata?._continue || undefined;
      options.onProgress?.({ kind, objects });
    } while (continueToken !== undefined);
  }
  findings.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return {
    generatedAt: new Date().toISOString(),
    cluster: clients.server,
    namespaces: Object.keys(objectsByNamespace).sort(),
    findings,
    objectsByNamespace,
    summary: summarize(objects, findings),
  };
}
