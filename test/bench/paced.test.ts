// The bench's fixed-rate load (bench/lib/paced.ts) must pace its requests and count latency from
// when each request was due; both are what makes its "p99 at 500 req/s" mean anything.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';
import { pacedLoad } from '../../bench/lib/paced.js';
import { ensureLocalCertificates } from '../../src/tls/certificates.js';

let tls: { cert: Buffer; key: Buffer };
let certDir: string;

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'lg-paced-'));
  const files = await ensureLocalCertificates(certDir, ['127.0.0.1']);
  tls = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
});
after(() => rmSync(certDir, { recursive: true, force: true }));

/** An HTTPS server that notes when each request arrives and answers after `delayMs(arrival index)`. */
async function server(delayMs: (index: number) => number): Promise<{ url: string; arrivals: number[]; close(): void }> {
  const arrivals: number[] = [];
  const https: Server = createServer(tls, (req, res) => {
    req.resume();
    req.on('end', () => {
      const index = arrivals.push(performance.now()) - 1;
      setTimeout(() => res.end('{}'), delayMs(index));
    });
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const address = https.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `https://127.0.0.1:${address.port}`,
    arrivals,
    close: () => {
      https.closeAllConnections();
      https.close();
    },
  };
}

const requests = [{ path: '/validate', body: '{}' }];

test('requests are spread over the run at the rate, not sent as a burst', async () => {
  const target = await server(() => 0);
  try {
    const started = performance.now();
    const result = await pacedLoad({ url: target.url, requests, connections: 8, seconds: 1, rate: 40 });
    assert.equal(result.requests, 40);
    assert.equal(result.errors + result.non2xx, 0);
    // The last of 40 requests at 40 req/s is due 975 ms after the start; a burst would have them all within milliseconds.
    const last = Math.max(...target.arrivals) - started;
    assert.ok(last >= 950, `last request arrived ${last.toFixed(0)} ms after the start`);
    const firstHalf = target.arrivals.filter((arrival) => arrival - started < 500).length;
    assert.ok(firstHalf <= 21, `${firstHalf} of 40 requests arrived in the first half second`);
  } finally {
    target.close();
  }
});

test('latency counts from when a request was due, so a queue behind a slow answer shows (no coordinated omission)', async () => {
  // One connection; the first answer takes a second, every other one is immediate. Requests due
  // meanwhile wait for the connection: from their due time they took up to a second, from the
  // moment they were written almost nothing.
  const target = await server((index) => (index === 0 ? 1000 : 0));
  try {
    const result = await pacedLoad({ url: target.url, requests, connections: 1, seconds: 1, rate: 50 });
    assert.equal(result.requests, 50);
    assert.ok(result.p50Ms >= 300, `p50 ${result.p50Ms} ms`);
    assert.ok(result.p99Ms >= 900, `p99 ${result.p99Ms} ms`);
  } finally {
    target.close();
  }
});

test('a server that refuses is counted as errors and non-2xx answers, not as latencies', async () => {
  const target = await server(() => 0);
  target.close();
  const result = await pacedLoad({ url: target.url, requests, connections: 2, seconds: 0.2, rate: 50 });
  assert.equal(result.requests, 0);
  assert.equal(result.errors, 10);
});
