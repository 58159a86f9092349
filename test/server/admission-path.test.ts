// The admission path after the body is read: small reviews are decided inline and answered before the
// endpoint returns (no Promise, no microtask hop); large ones go to the worker thread; absurd nesting
// is refused before parsing whichever way; a decision step that returns a Promise is awaited, and
// its rejection is answered as the policy's failureMode says.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { DECIDERS, type Decide } from '../../src/server/admission/answer.js';
import { admissionHandler, type AdmissionEndpoint } from '../../src/server/admission/handler.js';
import { DecisionWorker, OFF_THREAD_BYTES } from '../../src/server/admission/off-thread.js';
import { createMetrics } from '../../src/server/metrics.js';
import { PolicyHolder } from '../../src/server/policy-holder.js';
import { badContainer, compliantContainer, makePolicy, pod, review, type Json } from './helpers.js';

interface Replied {
  status: number;
  body: Json;
}

const offThread = new DecisionWorker();
after(() => offThread.stop());

function endpoint(name: 'validate' | 'mutate', policy: Json = {}): AdmissionEndpoint {
  const metrics = createMetrics();
  return admissionHandler(name, {
    policy: new PolicyHolder(makePolicy(policy), metrics),
    metrics,
    logger: pino({ level: 'silent' }),
    cluster: () => ({}),
    offThread,
  });
}

/** Calls the endpoint; `sync` is the answer when it was given before the call returned. */
function call(answer: AdmissionEndpoint, text: string): { sync: Replied | undefined; returned: unknown; done: Promise<Replied> } {
  let sync: Replied | undefined;
  let resolve: (replied: Replied) => void = () => undefined;
  const done = new Promise<Replied>((settle) => (resolve = settle));
  const returned = answer(Buffer.from(text), (status, json) => {
    const replied = { status, body: JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8')) as Json };
    sync = replied;
    resolve(replied);
  });
  return { sync, returned, done };
}

const responseOf = (replied: Replied) => replied.body.response as Json;

describe('admission path', () => {
  test('a small review is decided inline: answered before the endpoint returns, with no Promise', () => {
    const body = review(pod([badContainer('app')]));
    const { sync, returned } = call(endpoint('validate'), JSON.stringify(body));
    assert.equal(returned, undefined);
    assert.ok(sync !== undefined, 'answered synchronously');
    assert.equal(sync.status, 200);
    assert.equal(responseOf(sync).uid, body.request.uid);
    assert.equal(responseOf(sync).allowed, false);
  });

  test('a review over 64 KiB is decided in the worker thread, then answered', async () => {
    const body = review(pod([badContainer('app')], { annotations: { padding: 'x'.repeat(OFF_THREAD_BYTES) } }));
    const { sync, returned, done } = call(endpoint('validate'), JSON.stringify(body));
    assert.ok(returned instanceof Promise, 'the endpoint waits for the worker');
    assert.equal(sync, undefined);
    const replied = await done;
    assert.equal(replied.status, 200);
    assert.equal(responseOf(replied).uid, body.request.uid);
    assert.equal(responseOf(replied).allowed, false);
  });

  for (const padding of [0, OFF_THREAD_BYTES]) {
    test(`nesting deeper than 128 levels is 400 before parsing (${padding === 0 ? 'inline' : 'in the worker'})`, async () => {
      const text = JSON.stringify(review(pod([compliantContainer('app')], { annotations: { padding: 'x'.repeat(padding) } }))).replace(
        '"spec":',
        `"deep":${'['.repeat(200)}${']'.repeat(200)},"spec":`,
      );
      const replied = await call(endpoint('mutate'), text).done;
      assert.equal(replied.status, 400);
      assert.match(String(replied.body.error), /nested deeper than 128 levels/);
    });
  }

  describe('a decision step that returns a Promise', () => {
    const decide = DECIDERS.validate;
    const swap = (replacement: Decide) => ((DECIDERS as Record<string, Decide>).validate = replacement);
    after(() => swap(decide));

    test('is awaited before the answer', async () => {
      swap(async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return decide(...args);
      });
      const body = review(pod([badContainer('app')]));
      const { sync, returned, done } = call(endpoint('validate'), JSON.stringify(body));
      assert.ok(returned instanceof Promise);
      assert.equal(sync, undefined);
      const replied = await done;
      assert.equal(responseOf(replied).uid, body.request.uid);
      assert.equal(responseOf(replied).allowed, false);
    });

    for (const failureMode of ['allow', 'deny'] as const) {
      test(`that rejects is answered as failureMode ${failureMode} says, with the uid`, async () => {
        swap(() => Promise.reject(new Error('image registry unreachable')));
        const body = review(pod([compliantContainer('app')]));
        const replied = await call(endpoint('validate', { failureMode }), JSON.stringify(body)).done;
        assert.equal(replied.status, 200);
        assert.equal(responseOf(replied).uid, body.request.uid);
        assert.equal(responseOf(replied).allowed, failureMode === 'allow');
      });
    }
  });
});

describe('admission duration', () => {
  test('starts when the body was complete (`received`), so the wait for the end of the round is counted', async () => {
    const metrics = createMetrics();
    const validate = admissionHandler('validate', {
      policy: new PolicyHolder(makePolicy(), metrics),
      metrics,
      logger: pino({ level: 'silent' }),
      cluster: () => ({}),
    });
    void validate(Buffer.from(JSON.stringify(review(pod([compliantContainer('app')])))), () => undefined, performance.now() - 2000);
    const [histogram] = (await metrics.duration.get()).values.filter((value) => value.metricName?.endsWith('_sum'));
    assert.ok(histogram !== undefined && histogram.value >= 2, `duration sum ${histogram?.value}`);
  });
});
