// Answers are written together at the end of the event loop's round (admission/write-batch.ts): the
// batch itself, and what it means for the route: one answer per request, whatever the endpoint does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import request from 'supertest';
import { BodyBudget } from '../../src/server/admission/body-budget.js';
import type { AdmissionEndpoint } from '../../src/server/admission/handler.js';
import { admissionRoute } from '../../src/server/admission/route.js';
import { createWriteBatch } from '../../src/server/admission/write-batch.js';

const nextRound = () => new Promise((resolve) => setImmediate(resolve));

describe('write batch', () => {
  test('writes queued in one round are made after it, in the order queued', async () => {
    const made: string[] = [];
    const batch = createWriteBatch((error) => assert.fail(String(error)));
    batch(() => made.push('first'));
    batch(() => made.push('second'));
    made.push('rest of the round');
    await Promise.resolve();
    assert.deepEqual(made, ['rest of the round'], 'not even after the microtasks of the round');
    await nextRound();
    assert.deepEqual(made, ['rest of the round', 'first', 'second']);
  });

  test('a write queued while a round is written waits for the next round', async () => {
    const made: string[] = [];
    const batch = createWriteBatch((error) => assert.fail(String(error)));
    batch(() => {
      made.push('round 1');
      batch(() => made.push('round 2'));
    });
    await nextRound();
    assert.deepEqual(made, ['round 1']);
    await nextRound();
    assert.deepEqual(made, ['round 1', 'round 2']);
  });

  test('a write that throws is reported, and the other writes of its round are still made', async () => {
    const made: string[] = [];
    const errors: unknown[] = [];
    const batch = createWriteBatch((error) => errors.push(error));
    batch(() => made.push('before'));
    batch(() => {
      throw new Error('socket gone');
    });
    batch(() => made.push('after'));
    await nextRound();
    assert.deepEqual(made, ['before', 'after']);
    assert.deepEqual(
      errors.map((error) => (error as Error).message),
      ['socket gone'],
    );
  });
});

function routeWith(validate: AdmissionEndpoint, logged: string[] = []): (req: IncomingMessage, res: ServerResponse) => void {
  const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line).msg) });
  const route = admissionRoute({
    endpoints: { validate, mutate: validate },
    maxBodyBytes: 1024,
    budget: new BodyBudget(4096),
    onOverload: () => undefined,
    logger,
  });
  return (req, res) => {
    if (route(req, res)) return;
    res.statusCode = 404;
    res.end();
  };
}

describe('admission route answers once', () => {
  test('an endpoint that answers twice: the first answer is sent, the second dropped', async () => {
    const logged: string[] = [];
    const res = await request(
      routeWith((_body, reply) => {
        reply(200, '{"first":true}');
        reply(500, '{"second":true}');
      }, logged),
    )
      .post('/validate')
      .send('{}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { first: true });
    assert.deepEqual(logged, [], 'the second answer is not even tried');
  });

  test('an endpoint that throws after answering: its answer stands and the error is logged', async () => {
    const logged: string[] = [];
    const res = await request(
      routeWith((_body, reply) => {
        reply(200, '{"answered":true}');
        throw new Error('after the answer');
      }, logged),
    )
      .post('/validate')
      .send('{}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { answered: true });
    assert.deepEqual(logged, ['unhandled error']);
  });

  test('an endpoint that throws before answering: 500 with a JSON error', async () => {
    const res = await request(
      routeWith(() => {
        throw new Error('before the answer');
      }),
    )
      .post('/validate')
      .send('{}');
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: 'internal error' });
  });

  test('an endpoint whose Promise rejects after answering: its answer stands', async () => {
    const res = await request(
      routeWith(async (_body, reply) => {
        reply(200, '{"answered":true}');
        await Promise.resolve();
        throw new Error('later');
      }),
    )
      .post('/validate')
      .send('{}');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { answered: true });
  });
});
