// What a client can send must not freeze or crash the webhook: huge reviews are answered with bounded
// messages while /healthz stays responsive; absurdly deep JSON is refused early. In-process, over real TLS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { MAX_LISTED_FINDINGS, MAX_MESSAGE_BYTES } from '../../src/server/admission/respond.js';
import { badContainer, pod, review, unmutatedContainer, type Json } from './helpers.js';
import { httpsCall, startTlsServer, type TlsServer } from './tls-harness.js';

/** Polls /healthz until `done` settles; returns the slowest answer in ms. */
async function slowestHealthz(target: TlsServer, done: Promise<unknown>): Promise<number> {
  const agent = new Agent({ keepAlive: true, ca: target.ca });
  let finished = false;
  void done.finally(() => (finished = true));
  let slowest = 0;
  try {
    while (!finished) {
      const started = performance.now();
      const res = await httpsCall(target, 'GET', '/healthz', undefined, agent);
      assert.equal(res.status, 200);
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    agent.destroy();
  }
  return slowest;
}

/**
 * Posts a Pod with `count` containers while probing /healthz; the answer's review response, after
 * asserting that /healthz stayed responsive (generous for a loaded 2-core machine: evaluated on the
 * event loop, 30,000 containers took 9 to 75 s).
 */
async function reviewBesideProbe(
  target: TlsServer,
  endpoint: string,
  count: number,
  make: (name: string) => Json,
): Promise<{ response: Json; bytes: number }> {
  const body = JSON.stringify(review(pod(Array.from({ length: count }, (_, index) => make(`c${index}`)))));
  const answer = httpsCall(target, 'POST', endpoint, body);
  const slowest = await slowestHealthz(target, answer);
  const res = await answer;
  assert.equal(res.status, 200);
  assert.ok(slowest < 1000, `/healthz took ${Math.round(slowest)} ms while the review was evaluated`);
  return { response: JSON.parse(res.text).response, bytes: res.text.length };
}

describe('a review with 30,000 containers', () => {
  let target: TlsServer;
  before(async () => {
    target = await startTlsServer();
  });
  after(() => target.stop());

  test('/validate denies with a bounded message while /healthz keeps answering', async () => {
    const { response, bytes } = await reviewBesideProbe(target, '/validate', 30_000, badContainer);
    assert.equal(response.allowed, false);
    const message = (response.status as { message: string }).message;
    assert.ok(Buffer.byteLength(message) <= MAX_MESSAGE_BYTES, `message is ${Buffer.byteLength(message)} bytes`);
    const listed = message.split('\n').filter((line) => line.startsWith('['));
    assert.ok(listed.length > 0 && listed.length <= MAX_LISTED_FINDINGS, `${listed.length} findings listed`);
    assert.match(message, new RegExp(`${60_000 - listed.length} more finding\\(s\\) not shown`));
    assert.match(message, /Fix: .*readinessProbe/);
    assert.ok(bytes < 64 * 1024, `the whole answer is ${bytes} bytes`);
  });

  test('/mutate admits unchanged, saying why (a 6 MB patch is over the limit), while /healthz keeps answering', async () => {
    const { response, bytes } = await reviewBesideProbe(target, '/mutate', 30_000, unmutatedContainer);
    assert.equal(response.allowed, true);
    assert.ok(response.patch === undefined, 'no patch');
    assert.match((response.warnings as string[])[0] ?? '', /60000 change\(s\) not applied: their JSON Patch is \d+ bytes, over the/);
    assert.ok(bytes < 64 * 1024, `the whole answer is ${bytes} bytes`);
  });
});

describe('nesting', () => {
  let target: TlsServer;
  before(async () => {
    target = await startTlsServer();
  });
  after(() => target.stop());

  function nestedReview(depth: number): string {
    const body = JSON.stringify(review(pod([badContainer('app')], { annotations: { note: 'x' } })));
    return body.replace('"note":"x"', `"note":${'{"next":'.repeat(depth)}"x"${'}'.repeat(depth)}`);
  }

  for (const endpoint of ['validate', 'mutate']) {
    test(`/${endpoint}: absurdly deep JSON is a 400 naming the limit, small or large`, async () => {
      for (const depth of [200, 100_000]) {
        const res = await httpsCall(target, 'POST', `/${endpoint}`, nestedReview(depth));
        assert.equal(res.status, 400, `depth ${depth}: ${res.text.slice(0, 200)}`);
        assert.match(JSON.parse(res.text).error, /nested deeper than 128 levels/);
      }
    });

    test(`/${endpoint}: nesting well past any real object is still answered`, async () => {
      const res = await httpsCall(target, 'POST', `/${endpoint}`, nestedReview(100));
      assert.equal(res.status, 200, res.text.slice(0, 200));
      assert.equal(typeof JSON.parse(res.text).response.allowed, 'boolean');
    });
  }
});
