// The cap on bytes buffered across all admission bodies in flight, over real TLS in-process: a body
// that would exceed it while others are being read is refused with 503 and Retry-After, without
// being read; bodies are admitted again once the budget is given back; one body alone always fits;
// a single body over the size limit stays 413.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { CertificateBundle } from '../../src/tls/certificates.js';
import { generateCertificates } from '../../src/tls/generate.js';
import { createApp, MAX_BODY_BYTES } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { PolicyHolder } from '../../src/server/policy-holder.js';
import { DEFAULT_POLICY } from '../../src/engine/policy.js';
import { RETRY_AFTER_SECONDS } from '../../src/server/admission/route.js';
import { compliantContainer, pod, review } from './helpers.js';

const KIB = 1024;
const BUDGET = 256 * KIB;

/** A review of about `bytes` bytes (padded with an annotation). */
function reviewOfSize(bytes: number): { text: string; uid: string } {
  const body = review(pod([compliantContainer('app')], { annotations: { padding: '' } }));
  const base = Buffer.byteLength(JSON.stringify(body));
  (body.request.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations.padding = 'x'.repeat(bytes - base);
  return { text: JSON.stringify(body), uid: body.request.uid };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('bytes buffered across bodies in flight', () => {
  let server: Server;
  let port: number;
  let certs: CertificateBundle;
  const metrics = createMetrics();
  const agent = new Agent({ keepAlive: false });

  before(async () => {
    certs = await generateCertificates({ hosts: ['localhost', '127.0.0.1'] });
    const app = createApp({
      policy: new PolicyHolder(DEFAULT_POLICY),
      metrics,
      logger: pino({ level: 'silent' }),
      maxBufferedBodyBytes: BUDGET,
    });
    server = createServer({ cert: certs.serving.cert, key: certs.serving.key }, app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Starts a POST; `send` writes the first part of the body (or all of it when `stall` is false). */
  function post(path: string, text: string, options: { stall?: boolean; chunked?: boolean } = {}) {
    let finish: () => void = () => undefined;
    const answer = new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string | number> = { 'content-type': 'application/json' };
      if (options.chunked) headers['transfer-encoding'] = 'chunked';
      else headers['content-length'] = Buffer.byteLength(text);
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path, headers, ca: certs.ca.cert, servername: 'localhost', agent },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      const half = Math.floor(text.length / 2);
      req.write(text.slice(0, options.stall ? half : text.length));
      finish = () => {
        if (options.stall) req.write(text.slice(half));
        req.end();
      };
      if (!options.stall) req.end();
    });
    return { answer, finish: () => finish() };
  }

  /** Waits until the server has taken the stalled bodies' bytes (their first halves arrived). */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  test('a body that does not fit beside those in flight is 503 with Retry-After; once they finish it is answered', async () => {
    const big = reviewOfSize(150 * KIB);
    const first = post('/validate', big.text, { stall: true });
    await settle();
    const refused = await post('/mutate', reviewOfSize(150 * KIB).text).answer;
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    assert.match(JSON.parse(refused.body).error, /in flight/);

    // A small body still fits beside the stalled one.
    const small = reviewOfSize(20 * KIB);
    const fits = await post('/validate', small.text).answer;
    assert.equal(fits.status, 200);
    assert.equal(JSON.parse(fits.body).response.uid, small.uid);

    first.finish();
    const firstAnswer = await first.answer;
    assert.equal(firstAnswer.status, 200);
    assert.equal(JSON.parse(firstAnswer.body).response.uid, big.uid);

    const again = reviewOfSize(150 * KIB);
    const admitted = await post('/mutate', again.text).answer;
    assert.equal(admitted.status, 200);
    assert.equal(JSON.parse(admitted.body).response.uid, again.uid);
    const overloaded = (await metrics.registry.getSingleMetric('lifecycle_guard_admission_overloaded_total')?.get())?.values[0]?.value;
    assert.equal(overloaded, 1);
  });

  test('chunked bodies (no Content-Length) are counted as they arrive', async () => {
    const first = post('/validate', reviewOfSize(200 * KIB).text, { stall: true, chunked: true });
    await settle();
    const second = post('/validate', reviewOfSize(200 * KIB).text, { chunked: true });
    const refused = await second.answer;
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], String(RETRY_AFTER_SECONDS));
    first.finish();
    assert.equal((await first.answer).status, 200);
  });

  test('one body alone always fits, even above the cap; above the size limit it is 413', async () => {
    const alone = reviewOfSize(2 * BUDGET);
    const answer = await post('/validate', alone.text).answer;
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).response.uid, alone.uid);

    const tooBig = await post('/validate', reviewOfSize(MAX_BODY_BYTES + KIB).text).answer;
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.headers['retry-after'], undefined);
  });

  test('a client that goes away mid-body gives its bytes back', async () => {
    const stalled = post('/validate', reviewOfSize(200 * KIB).text, { stall: true });
    await settle();
    agent.destroy();
    await stalled.answer.catch(() => undefined);
    await settle();
    const next = reviewOfSize(200 * KIB);
    const answer = await post('/validate', next.text).answer;
    assert.equal(answer.status, 200);
  });
});
