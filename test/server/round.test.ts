// Reviews are decided and answered together at the end of the event loop's round (admission/round.ts):
// the queue itself, and what the route makes of it: one answer per request, whatever the endpoint does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import request from 'supertest';
import { BodyBudget } from '../../src/server/admission/body-budget.js';
import type { AdmissionEndpoint } from '../../src/server/admission/handler.js';
import { admissionRoute } from '../../src/server/admission/route.js';
import { createRoundQueue } from '../../src/server/admission/round.js';

const nextRound = () => new Promise((resolve) => setImmediate(resolve));

describe('round queue', () => {
  test('work queued in one round runs after it, in the order queued', async () => {
    const made: string[] = [];
    const batch = createRoundQueue((error) => assert.fail(String(error)));
    batch(() => made.push('first'));
    batch(() => made.push('second'));
    made.push('rest of the round');
    await Promise.resolve();
    assert.deepEqual(made, ['rest of the round'], 'not even after the microtasks of the round');
    await nextRound();
    assert.deepEqual(made, ['rest of the round', 'first', 'second']);
  });

  test('work queued while the queue runs (the answers of the decisions) runs in the same pass, after what was queued before it', async () => {
    const made: string[] = [];
    const batch = createRoundQueue((error) => assert.fail(String(error)));
    for (const review of ['a', 'b']) {
      batch(() => {
        made.push(`decide ${review}`);
        batch(() => made.push(`answer ${review}`));
      });
    }
    await nextRound();
    assert.deepEqual(made, ['decide a', 'decide b', 'answer a', 'answer b']);
  });

  test('work queued after a pass, from its microtasks, runs in a later round', async () => {
    const made: string[] = [];
    const batch = createRoundQueue((error) => assert.fail(String(error)));
    batch(() => {
      made.push('decided');
      void Promise.resolve().then(() => batch(() => made.push('answered later')));
    });
    await nextRound();
    await nextRound();
    assert.deepEqual(made, ['decided', 'answered later']);
  });

  test('work that throws is reported, and the rest of its round still runs', async () => {
    const made: string[] = [];
    const errors: unknown[] = [];
    const batch = createRoundQueue((error) => errors.push(error));
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

test('a round whose error report throws does not stop later rounds', async () => {
  const made: string[] = [];
  const batch = createRoundQueue(() => {
    throw new Error('the log is gone');
  });
  const uncaught: unknown[] = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (error) => uncaught.push(error));
  try {
    batch(() => {
      throw new Error('write failed');
    });
    await nextRound();
    batch(() => made.push('next round'));
    await nextRound();
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const listener of listeners) process.on('uncaughtException', listener);
  }
  assert.deepEqual(made, ['next round']);
  assert.equal(uncaught.length, 1);
});

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

describe('admission route rounds', () => {
  /** A request whose body arrives in one chunk, and a response that records what is written to it. */
  function exchange(name: string, events: string[]): { req: IncomingMessage; res: ServerResponse; send(): void } {
    const req = Object.assign(new EventEmitter(), { method: 'POST', url: '/validate', headers: { 'content-length': '2' } });
    const res = Object.assign(new EventEmitter(), {
      headersSent: false,
      setHeader: () => undefined,
      writeHead: () => events.push(`write ${name}`),
      end: () => undefined,
    });
    return {
      req: req as unknown as IncomingMessage,
      res: res as unknown as ServerResponse,
      send: () => {
        req.emit('data', Buffer.from(name));
        req.emit('end');
      },
    };
  }

  test('the reviews that arrive in one round are decided after it, back to back, then answered', async () => {
    const events: string[] = [];
    const route = routeWith((body, reply) => {
      events.push(`decide ${Buffer.from(body).toString()}`);
      reply(200, '{}');
    });
    const first = exchange('r1', events);
    const second = exchange('r2', events);
    route(first.req, first.res);
    route(second.req, second.res);
    first.send();
    second.send();
    events.push('round over');
    await nextRound();
    assert.deepEqual(events, ['round over', 'decide r1', 'decide r2', 'write r1', 'write r2']);
  });
});
