import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { POD_BEARING_KINDS } from '../core/workload.js';

/** The webhook's Prometheus metrics, on a registry of their own so tests can create several apps. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lifecycle_guard_' });
  return {
    registry,
    requests: new Counter({
      name: 'lifecycle_guard_admission_requests_total',
      help: 'Admission requests answered, by endpoint, operation, kind and verdict.',
      labelNames: ['endpoint', 'operation', 'kind', 'verdict'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'lifecycle_guard_admission_duration_seconds',
      help: 'Time to answer an admission request.',
      labelNames: ['endpoint'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    violations: new Counter({
      name: 'lifecycle_guard_violations_total',
      help: 'Findings in admission requests, by rule and mode.',
      labelNames: ['rule', 'mode'] as const,
      registers: [registry],
    }),
    overloaded: new Counter({
      name: 'lifecycle_guard_admission_overloaded_total',
      help: 'Admission requests answered 503 because the bytes buffered across bodies in flight reached their cap.',
      registers: [registry],
    }),
    withheldPatches: new Counter({
      name: 'lifecycle_guard_mutation_patches_withheld_total',
      help: 'Mutations not applied because their JSON Patch was larger than the limit; the objects were admitted unchanged, with a warning.',
      registers: [registry],
    }),
    policyReloads: new Counter({
      name: 'lifecycle_guard_policy_reloads_total',
      help: 'Policies loaded and put in force.',
      registers: [registry],
    }),
    policyReloadErrors: new Counter({
      name: 'lifecycle_guard_policy_reload_errors_total',
      help: 'Policies refused as invalid (the last good policy stays in force).',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

const KNOWN_KINDS = new Set(POD_BEARING_KINDS);

/** Bounded label values: a client cannot create unbounded series by sending odd kinds or operations. */
export function kindLabel(kind: string): string {
  return KNOWN_KINDS.has(kind) ? kind : 'other';
}

const KNOWN_OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
export function operationLabel(operation: string): string {
  return KNOWN_OPERATIONS.has(operation) ? operation : 'other';
}
