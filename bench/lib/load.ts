// Load generation with autocannon over HTTPS keep-alive connections, cycling through a review mix, as
// fast as the server answers (a fixed rate: paced.ts).
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  requests: ReadonlyArray<{ path: string; body: string }>;
  connections: number;
  seconds: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: options.requests.map(({ path, body }) => ({ method: 'POST', path, body, headers: { 'content-type': 'application/json' } })),
  });
  return {
    rps: result.requests.total / options.seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
