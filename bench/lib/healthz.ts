// /healthz while the largest allowed review is decided: a Pod with 30,000 containers is posted to
// /validate and to /mutate while /healthz is probed every 10 ms on a keep-alive connection. Reports
// the probes' latency percentiles (and the same probes with no review running, which is what the
// machine itself adds), and the longest event-loop delay the server measured during the review
// (prom-client's nodejs_eventloop_lag_max_seconds, reset at every scrape).
import { request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { freePort, serveArgs, startChild, stopChild, waitUntilReady, type MemoryCgroup } from './processes.js';
import { percentile } from './stats.js';

export const BIG_REVIEW_CONTAINERS = 30_000;

export interface Latencies {
  probes: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface HealthzStep {
  endpoint: 'validate' | 'mutate';
  bodyBytes: number;
  reviewSeconds: number;
  /** /healthz while the review was decided. */
  during: Latencies;
  /** /healthz for as long with nothing else running. */
  idle: Latencies;
  /** The longest the server's event loop was held up during the review. */
  eventLoopMaxMs: number;
}

/** Containers both validating rules deny and both mutating rules change: the most work per container. */
function bigReview(count: number): string {
  const containers = Array.from({ length: count }, (_, index) => ({
    name: `c${index}`,
    image: 'registry.example.com/app:1',
    command: ['sh', '-c', '/app/server'],
  }));
  const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'shop' }, spec: { containers } };
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '00000000-0000-4000-8000-000000000001',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      name: 'big',
      namespace: 'shop',
      operation: 'CREATE',
      userInfo: { username: 'bench' },
      object,
      oldObject: null,
      dryRun: false,
    },
  });
}

const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });

function call(url: string, method: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? request : httpRequest;
    const req = send(
      url,
      { method, ...(url.startsWith('https:') ? { agent } : {}), headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function latencies(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number) => Math.round(percentile(sorted, fraction) ?? NaN);
  return { probes: sorted.length, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: Math.round(sorted[sorted.length - 1] ?? NaN) };
}

/** Probes /healthz every 10 ms until `done` settles; the latency of each probe in ms. */
async function probe(url: string, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true));
  const samples: number[] = [];
  while (!finished) {
    const started = performance.now();
    const { status } = await call(`${url}/healthz`, 'GET');
    if (status !== 200) throw new Error(`/healthz answered ${status}`);
    samples.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return samples;
}

async function eventLoopMaxMs(metricsUrl: string): Promise<number> {
  const { text } = await call(`${metricsUrl}/metrics`, 'GET');
  const match = /^lifecycle_guard_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text);
  if (match === null) throw new Error('no nodejs_eventloop_lag_max_seconds in /metrics');
  return Math.round(Number(match[1]) * 1000);
}

export async function healthzBesideBigReview(
  cli: string,
  tls: { cert: string; key: string },
  server: { node: string; cgroup?: MemoryCgroup },
): Promise<HealthzStep[]> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const options = server.cgroup === undefined ? {} : { cgroup: server.cgroup };
  const child = startChild(server.node, serveArgs(cli, port, metricsPort, ['--tls-cert', tls.cert, '--tls-key', tls.key]), options);
  const url = `https://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  try {
    await waitUntilReady(`${url}/readyz`, child);
    const body = bigReview(BIG_REVIEW_CONTAINERS);
    const steps: HealthzStep[] = [];
    for (const endpoint of ['validate', 'mutate'] as const) {
      // Once unmeasured: the worker thread starts and compiles on its first review.
      await call(`${url}/${endpoint}`, 'POST', body);
      await eventLoopMaxMs(metricsUrl);
      const started = performance.now();
      const answer = call(`${url}/${endpoint}`, 'POST', body);
      const during = await probe(url, answer);
      const { status } = await answer;
      const reviewMs = performance.now() - started;
      if (status !== 200) throw new Error(`/${endpoint} answered ${status}`);
      const loopMax = await eventLoopMaxMs(metricsUrl);
      const idle = await probe(url, new Promise((resolve) => setTimeout(resolve, reviewMs)));
      steps.push({
        endpoint,
        bodyBytes: Buffer.byteLength(body),
        reviewSeconds: reviewMs / 1000,
        during: latencies(during),
        idle: latencies(idle),
        eventLoopMaxMs: loopMax,
      });
    }
    return steps;
  } finally {
    agent.destroy();
    await stopChild(child);
  }
}
