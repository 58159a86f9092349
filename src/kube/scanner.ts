import type { KubernetesObject } from '@kubernetes/client-node';
import { apiVersionOf, controllerOwner, groupOf, type PodBearingKind } from '../core/workload.js';
import type { ImageFacts } from '../core/images.js';
import { evaluateObject } from '../engine/evaluate.js';
import { readsNamespaceLabels, type NamespaceLabels } from '../engine/exceptions.js';
import type { Policy } from '../engine/policy.js';
import { selectRules, type Selection } from '../engine/select.js';
import { podBearingKinds } from '../engine/workload-kinds.js';
import { ExceptionTally, summarize, toReportFinding, type AuditReport, type ReportFinding } from '../engine/report.js';
import type { ClusterInfo } from '../core/types.js';
import { isStatus, type KubeClients } from './client.js';

/** Objects per list request when the caller does not say. */
const DEFAULT_PAGE_SIZE = 500;

/** A finding with the identity of the object it was found on, as reports need it. */
export interface ScanFinding extends ReportFinding {
  apiVersion: string;
  uid: string;
}

/** A rule an exception of the policy lifted for an object (a `skip` result in the reports). */
export interface ScanExcepted {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  rule: string;
  /** Position of the exception in the policy. */
  exception: number;
}

/** An image whose ENTRYPOINT/CMD could not be checked, with why and where it is used. */
export interface UninspectedImage {
  image: string;
  reason: string;
  /** `Kind namespace/name` of the objects that use it. */
  usedBy: string[];
}

export interface ScanReport extends AuditReport {
  findings: ScanFinding[];
  excepted?: ScanExcepted[];
  /** Images the scan could not inspect (absent when it inspects none). */
  uninspectedImages?: UninspectedImage[];
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
  /**
   * Looks up the image configs an object's evaluation needs (the composition does the registry I/O);
   * `selection` is the rules selected for the object, which its evaluation then uses too.
   */
  inspectImages?: (object: unknown, namespace: string | undefined, selection: Selection) => Promise<ImageFacts>;
  /** Called after each page, for progress output. */
  onProgress?: (progress: { kind: string; objects: number }) => void;
}

/** Objects whose controller is itself scanned (a Deployment's ReplicaSets, their Pods) would repeat its findings. */
function isControlledByScannedKind(object: unknown, kinds: readonly PodBearingKind[]): boolean {
  const owner = controllerOwner(object);
  return owner !== undefined && kinds.some(({ kind, group }) => kind === owner.kind && group === groupOf(owner.apiVersion));
}

/** The objects of an optional kind; none when the cluster does not serve its API (errors of the loop's body are not caught here). */
async function* unlessNotServed(objects: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  try {
    yield* objects;
  } catch (error) {
    // Not served (a CRD that is not installed) is 404, from discovery or from the list.
    if (!isStatus(error, 404)) throw error;
  }
}

/** Namespace labels for exceptions with a namespaceSelector, listed once per scan (only when the policy has one). */
async function namespaceLabelsFor(clients: KubeClients, policy: Policy): Promise<NamespaceLabels | undefined> {
  if (!readsNamespaceLabels(policy.exceptions)) return undefined;
  const labels = new Map<string, Record<string, string>>();
  let continueToken: string | undefined;
  do {
    const page = await clients.core.listNamespace({ limit: 500, ...(continueToken === undefined ? {} : { continue: continueToken }) });
    for (const namespace of page.items) labels.set(namespace.metadata?.name ?? '', namespace.metadata?.labels ?? {});
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken !== undefined);
  return (namespace) => labels.get(namespace);
}

/**
 * Lists every pod-bearing object page by page (limit and continue) and evaluates every rule,
 * validating and mutating alike: for what already runs, a missing preStop delay is a finding too.
 * Each object is evaluated as it arrives and nothing of it but its findings is kept, so memory does
 * not grow with the cluster.
 */
export async function scanCluster(clients: KubeClients, options: ScanOptions): Promise<ScanReport> {
  const findings: ScanFinding[] = [];
  const objectsByNamespace: Record<string, number> = {};
  const uninspected = new Map<string, UninspectedImage>();
  let objects = 0;
  const kinds = podBearingKinds(options.policy);
  const exceptions = new ExceptionTally();
  const excepted: ScanExcepted[] = [];
  const namespaceLabels = await namespaceLabelsFor(clients, options.policy);
  const withNamespaceLabels = namespaceLabels === undefined ? {} : { namespaceLabels };
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  for (const entry of kinds) {
    const { kind } = entry;
    const apiVersion = apiVersionOf(entry);
    const listed = clients.objects.listObjects(apiVersion, kind, options.namespace, pageSize);
    for await (const item of entry.optional === true ? unlessNotServed(listed) : listed) {
      // Not `{ ...item, apiVersion, kind }`: see runRules (src/engine/evaluate.ts), one hidden class per object.
      const object: KubernetesObject = Object.assign({}, item as KubernetesObject, { apiVersion, kind });
      if (isControlledByScannedKind(object, kinds)) continue;
      // Selected once, with the namespace labels, for the image lookup and the evaluation (as /validate does).
      const selection = selectRules(object, options.policy, withNamespaceLabels);
      const images = await options.inspectImages?.(object, object.metadata?.namespace, selection);
      const evaluation = evaluateObject(object, options.policy, {
        cluster: options.cluster ?? {},
        ...withNamespaceLabels,
        ...(images === undefined ? {} : { images }),
        selection,
      });
      if (evaluation.skipped !== undefined) continue;
      exceptions.add(evaluation.excepted);
      for (const { rule, exception } of evaluation.excepted ?? []) {
        excepted.push({
          apiVersion,
          kind,
          namespace: object.metadata?.namespace ?? '',
          name: object.metadata?.name ?? '',
          uid: object.metadata?.uid ?? '',
          rule,
          exception,
        });
      }
      const namespace = object.metadata?.namespace ?? '';
      for (const inspection of images?.values() ?? []) {
        if (inspection.status !== 'uninspected') continue;
        const entry = uninspected.get(inspection.reference) ?? { image: inspection.reference, reason: inspection.reason, usedBy: [] };
        entry.usedBy.push(`${kind} ${namespace}/${object.metadata?.name ?? ''}`);
        uninspected.set(inspection.reference, entry);
      }
      objects += 1;
      objectsByNamespace[namespace] = (objectsByNamespace[namespace] ?? 0) + 1;
      const identity = { kind, namespace, name: object.metadata?.name ?? '' };
      for (const finding of evaluation.findings) {
        findings.push({ apiVersion, uid: object.metadata?.uid ?? '', ...toReportFinding(identity, finding) });
      }
      if (objects % pageSize === 0) options.onProgress?.({ kind, objects });
    }
    options.onProgress?.({ kind, objects });
  }
  findings.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return {
    generatedAt: new Date().toISOString(),
    cluster: clients.server,
    namespaces: Object.keys(objectsByNamespace).sort(),
    findings,
    objectsByNamespace,
    ...(options.inspectImages === undefined
      ? {}
      : { uninspectedImages: [...uninspected.values()].sort((a, b) => a.image.localeCompare(b.image)) }),
    summary: summarize(objects, findings),
    ...(options.policy.exceptions.length === 0 ? {} : { exceptions: exceptions.report(options.policy), excepted }),
  };
}
