import { Counter, Histogram, type Registry } from 'prom-client';

/** Registry client and inspection metrics, registered on the webhook's registry. */
export function createRegistryMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'lifecycle_guard_registry_requests_total',
      help: 'HTTP requests to container registries (and their token endpoints), by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'lifecycle_guard_registry_request_duration_seconds',
      help: 'Time of one registry request.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [registry],
    }),
    cacheHits: new Counter({
      name: 'lifecycle_guard_image_cache_hits_total',
      help: 'Image lookups answered from the cache: `tag` (a tag resolved within its TTL) or `digest` (a manifest or config).',
      labelNames: ['cache'] as const,
      registers: [registry],
    }),
    inspections: new Counter({
      name: 'lifecycle_guard_image_inspections_total',
      help: 'Images inspected for an admission request or a scan, by outcome (inspected, or why not).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}

export type RegistryMetrics = ReturnType<typeof createRegistryMetrics>;
