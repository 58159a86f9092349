// Shared builders for the webhook server tests: AdmissionReviews, Pods and workloads, and an app.
import type { Express } from 'express';
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { pino, type Logger } from 'pino';
import { policyFromObject, type Policy } from '../../src/engine/policy.js';
import type { ClusterInfo } from '../../src/core/types.js';
import { createApp, createMetricsApp, type AppDeps, type WebhookHandler } from '../../src/server/app.js';
import { createMetrics, type Metrics } from '../../src/server/metrics.js';
import { PolicyHolder } from '../../src/server/policy-holder.js';
import { kindEntry, podSpecOf, wrap } from '../helpers/workloads.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export type Json = Record<string, unknown>;

/** Every kind with a pod template (Pods are built by `pod`). */
export { TEMPLATE_KINDS as WORKLOAD_KINDS, podSpecOf } from '../helpers/workloads.js';
export type WorkloadKind = string;

/** A container that passes every rule and that the mutating rules leave as it is. */
export function compliantContainer(name: string, extra: Json = {}): Json {
  return {
    name,
    image: `registry.example/${name}:1.0`,
    command: ['/app/server'],
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    ...extra,
  };
}

/** A container with two violations: a shell as PID 1 and no readinessProbe. */
export function badContainer(name: string, extra: Json = {}): Json {
  return { name, image: `registry.example/${name}:1.0`, command: ['sh', '-c', 'sleep 1; /app/server'], ...extra };
}

/** A container that is fine for the validating rules but that the mutating rules change. */
export function unmutatedContainer(name: string, extra: Json = {}): Json {
  return { name, image: `registry.example/${name}:1.0`, command: ['/app/server'], readinessProbe: { tcpSocket: { port: 8080 } }, ...extra };
}

export interface PodOptions {
  name?: string;
  namespace?: string | null;
  annotations?: Record<string, string>;
  ownerReferences?: Json[];
  spec?: Json;
}

export function pod(containers: Json[], options: PodOptions = {}): Json {
  const metadata: Json = { name: options.name ?? 'web-0' };
  if (options.namespace !== null) metadata.namespace = options.namespace ?? 'default';
  if (options.annotations) metadata.annotations = options.annotations;
  if (options.ownerReferences) metadata.ownerReferences = options.ownerReferences;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: { containers, ...options.spec } };
}

/** A workload of `kind` whose pod template holds `containers`; annotations go on the template. */
export function workload(
  kind: WorkloadKind,
  containers: Json[],
  options: { name?: string; templateAnnotations?: Record<string, string> } = {},
): Json {
  const name = options.name ?? `${kind.toLowerCase()}-app`;
  const spec = { containers, ...(kindEntry(kind).runToCompletion === true ? { restartPolicy: 'OnFailure' } : {}) };
  return wrap(kind, spec, { name, namespace: 'default' }, options.templateAnnotations ? { annotations: options.templateAnnotations } : {});
}

export function containersOf(object: unknown): Json[] {
  return podSpecOf(object).containers as Json[];
}

export interface ReviewOptions {
  uid?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  oldObject?: unknown;
  namespace?: string;
  dryRun?: boolean;
  kind?: string;
}

let uidCounter = 0;
export function newUid(): string {
  uidCounter += 1;
  return `0b5e2f3c-0000-4000-8000-${String(uidCounter).padStart(12, '0')}`;
}

/** An admission.k8s.io/v1 AdmissionReview as the API server sends it. */
export function review(object: unknown, options: ReviewOptions = {}): Json & { request: Json & { uid: string } } {
  const source = (object ?? options.oldObject) as Json | null | undefined;
  const kind = options.kind ?? (source?.kind as string | undefined) ?? 'Pod';
  const gv = kindEntry(kind);
  const metadata = (source?.metadata ?? {}) as Json;
  const operation = options.operation ?? 'CREATE';
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? newUid(),
      kind: { group: gv.group, version: gv.version, kind },
      resource: { group: gv.group, version: gv.version, resource: gv.resource },
      requestKind: { group: gv.group, version: gv.version, kind },
      requestResource: { group: gv.group, version: gv.version, resource: gv.resource },
      name: metadata.name,
      namespace: options.namespace ?? metadata.namespace ?? 'default',
      operation,
      userInfo: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
      object: operation === 'DELETE' ? null : object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: `${operation[0]}${operation.slice(1).toLowerCase()}Options` },
    },
  };
}

export function makePolicy(overrides: Json = {}): Policy {
  return policyFromObject(overrides, 'test');
}

export interface TestApp {
  app: WebhookHandler;
  /** /metrics and the extra routes, served on their own port. */
  metricsApp: Express;
  metrics: Metrics;
  holder: PolicyHolder;
}

/** The app as the brief composes it: createApp({ policy: new PolicyHolder(policy), metrics: createMetrics(), logger }). */
export function makeApp(policy: Json = {}, deps: Partial<AppDeps> & { logger?: Logger; cluster?: () => ClusterInfo } = {}): TestApp {
  const metrics = deps.metrics ?? createMetrics();
  const holder = deps.policy ?? new PolicyHolder(makePolicy(policy), metrics);
  const app = createApp({ ...deps, policy: holder, metrics, logger: deps.logger ?? pino({ level: 'silent' }) });
  return { app, metricsApp: createMetricsApp({ metrics, ...(deps.routes ? { routes: deps.routes } : {}) }), metrics, holder };
}

export function decodePatch(patch: unknown): Operation[] {
  if (typeof patch !== 'string') throw new Error(`patch is not a string: ${String(patch)}`);
  assertBase64(patch);
  const operations: unknown = JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));
  if (!Array.isArray(operations)) throw new Error('patch is not a JSON array');
  return operations as Operation[];
}

function assertBase64(text: string): void {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('patch is not standard base64');
}

/** Applies a JSON Patch to a copy of `object`, validating every operation; throws when it does not apply. */
export function applyPatch<T>(object: T, operations: Operation[]): T {
  return fastJsonPatch.applyPatch(structuredClone(object), operations, true, true).newDocument;
}
