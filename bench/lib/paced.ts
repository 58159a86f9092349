// Load at a fixed rate, one request every 1/rate seconds, for latency at a given rate.
//
// autocannon's rate limit is no use for this: each connection sends its whole quota for a second
// back to back when the second starts, so "500 req/s over 32 connections" is a burst of 500
// requests every second, and its p99 measured how long the server takes to drain the burst (83 ms
// for the bare server, which was busy 4% of the time). Here each request is sent when it is due,
// over a keep-alive pool of at most `connections` sockets, and its latency is counted from when it
// was due, not from when a socket became free: a server that cannot keep up shows its queue
// (no coordinated omission).
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { LoadOptions, LoadResult } from './load.js';
import { percentile } from './stats.js';

/** How long answers still due at the end may take before they count as errors. */
const DRAIN_MS = 30_000;

/** Milliseconds, to a tenth: the bare server answers in well under one. */
const tenths = (ms: number) => Math.round(ms * 10) / 10;

export async function pacedLoad(options: LoadOptions & { rate: number }): Promise<LoadResult> {
  const { url, requests, connections, seconds, rate } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: connections, rejectUnauthorized: false });
  const total = Math.round(seconds * rate);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let settled = 0;
  let allSettled: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = () => {
    settled += 1;
    if (settled === total) allSettled();
  };

  const send = (index: number, due: number) => {
    const { path, body } = requests[index % requests.length] ?? { path: '/', body: '' };
    const req = request(
      `${url}${path}`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) latencies.push(performance.now() - due);
          else non2xx += 1;
          settle();
        });
      },
    );
    req.on('error', () => {
      errors += 1;
      settle();
    });
    req.end(body);
  };

  const start = performance.now();
  let sent = 0;
  // Timers fire late by a millisecond or more: each tick sends every request that has come due.
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; sent < due; sent += 1) send(sent, start + (sent * 1000) / rate);
      if (sent === total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const drained = await Promise.race([
    done.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), DRAIN_MS).unref()),
  ]);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p50Ms: tenths(percentile(latencies, 0.5) ?? NaN),
    p99Ms: tenths(percentile(latencies, 0.99) ?? NaN),
    requests: latencies.length,
    errors: errors + (drained ? 0 : total - settled),
    non2xx,
  };
}
