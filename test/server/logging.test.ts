// What the webhook logs: one JSON line per admission request with its identity and verdict, never the object.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import request from 'supertest';
import { withBrokenRule } from '../helpers/broken-rule.js';
import { badContainer, compliantContainer, makeApp, pod, review, unmutatedContainer, type Json } from './helpers.js';

const ENV_SECRET = 'hunter2-env-value-7f3a9c';
const SECRET_DATA = Buffer.from('s3cr3t-db-password-b81e').toString('base64');
const SECRET_STRING_DATA = 'plain-stringData-secret-55d0';
const ANNOTATION_SECRET = 'annotation-token-0c4e2b';
const SECRETS = [ENV_SECRET, SECRET_DATA, SECRET_STRING_DATA, ANNOTATION_SECRET, 's3cr3t-db-password-b81e'];

/** A pino logger writing JSON lines into an array. */
function capture(level = 'debug') {
  const lines: string[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(line) });
  return { lines, logger, records: () => lines.map((line) => JSON.parse(line) as Json) };
}

function withSecrets(containers: Json[]): Json {
  const object = pod(
    containers.map((container) => ({
      ...container,
      env: [
        { name: 'DB_PASSWORD', value: ENV_SECRET },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      ],
    })),
    { name: 'payments-api-0', namespace: 'payments', annotations: { 'example.com/token': ANNOTATION_SECRET } },
  );
  return object;
}

function assertNoSecrets(lines: readonly string[]): void {
  const all = lines.join('\n');
  for (const secret of SECRETS) assert.ok(!all.includes(secret), `a log line holds ${secret}:\n${all}`);
  assert.ok(!all.includes('DB_PASSWORD'), 'env names are object contents too');
}

function admissionLine(records: Json[], uid: string): Json {
  const matching = records.filter((record) => record.msg === 'admission' && record.uid === uid);
  assert.equal(matching.length, 1, `expected one admission line for ${uid}, got ${matching.length}`);
  return matching[0]!;
}

describe('admission logs', () => {
  test('one line per request with uid, kind, namespace, name, operation, verdict and duration', async () => {
    const { lines, logger, records } = capture();
    const { app } = makeApp({}, { logger });
    const cases = [
      { endpoint: 'validate', body: review(withSecrets([badContainer('app')])), verdict: 'denied' },
      { endpoint: 'validate', body: review(withSecrets([compliantContainer('app')])), verdict: 'allowed' },
      { endpoint: 'mutate', body: review(withSecrets([unmutatedContainer('app')])), verdict: 'mutated' },
      {
        endpoint: 'validate',
        body: review(withSecrets([badContainer('app')]), {
          operation: 'UPDATE',
          oldObject: withSecrets([badContainer('app')]),
          dryRun: true,
        }),
        verdict: 'warned',
      },
    ];
    for (const { endpoint, body, verdict } of cases) {
      const res = await request(app).post(`/${endpoint}`).send(body);
      assert.equal(res.status, 200);
      const line = admissionLine(records(), body.request.uid);
      assert.equal(line.level, verdict === 'allowed' ? 20 : 30, 'an allowed review without findings is logged at debug, the rest at info');
      assert.equal(line.endpoint, endpoint);
      assert.equal(line.kind, 'Pod');
      assert.equal(line.namespace, 'payments');
      assert.equal(line.name, 'payments-api-0');
      assert.equal(line.operation, body.request.operation);
      assert.equal(line.verdict, verdict);
      assert.equal(line.dryRun, body.request.dryRun);
      assert.equal(typeof line.durationMs, 'number');
      assert.ok((line.durationMs as number) >= 0);
      assert.equal(typeof line.time, 'number');
    }
    // Findings are named by rule and container, not by what the container holds.
    const denied = admissionLine(records(), cases[0]!.body.request.uid);
    assert.deepEqual(denied.findings, ['no-shell-entrypoint:app', 'require-readiness-probe:app']);
    assertNoSecrets(lines);
  });

  test('at info, a review allowed without findings writes no line; one with findings does', async () => {
    const { logger, records } = capture('info');
    const { app } = makeApp({}, { logger });
    const allowed = review(pod([compliantContainer('app')]));
    const denied = review(pod([badContainer('app')]));
    for (const body of [allowed, denied]) assert.equal((await request(app).post('/validate').send(body)).status, 200);
    const uids = records()
      .filter((record) => record.msg === 'admission')
      .map((record) => record.uid);
    assert.deepEqual(uids, [denied.request.uid]);
  });

  test('a Secret sent to the webhook (an unknown kind) leaves no data in the logs', async () => {
    const { lines, logger, records } = capture();
    const { app } = makeApp({}, { logger });
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db', namespace: 'payments' },
      type: 'Opaque',
      data: { password: SECRET_DATA },
      stringData: { other: SECRET_STRING_DATA },
    };
    for (const endpoint of ['validate', 'mutate']) {
      const body = review(secret);
      const res = await request(app).post(`/${endpoint}`).send(body);
      assert.deepEqual(res.body.response, { uid: body.request.uid, allowed: true });
      const line = admissionLine(records(), body.request.uid);
      assert.equal(line.kind, 'Secret');
      assert.equal(line.name, 'db');
      assert.equal(line.verdict, 'allowed');
    }
    assertNoSecrets(lines);
  });

  test('bad bodies are answered without logging what they hold', async () => {
    const { lines, logger } = capture();
    const { app } = makeApp({}, { logger });
    await request(app).post('/validate').set('content-type', 'application/json').send(`{"env": "${ENV_SECRET}", `);
    await request(app)
      .post('/validate')
      .send({ apiVersion: 'v1', kind: 'Secret', data: { password: SECRET_DATA } });
    await request(app)
      .post('/mutate')
      .send({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: { env: ENV_SECRET } } });
    assertNoSecrets(lines);
  });

  test('a rule that throws is logged as an error naming the rule, and the verdict is error', async () => {
    const { lines, logger, records } = capture();
    const { app } = makeApp({ failureMode: 'allow' }, { logger });
    const body = review(withSecrets([compliantContainer('app')]));
    const res = await withBrokenRule(
      'require-readiness-probe',
      () => request(app).post('/validate').send(body),
      new TypeError('cannot read the probe'),
    );
    assert.equal(res.body.response.allowed, true);
    const errors = records().filter((record) => (record.level as number) >= 50 && record.uid === body.request.uid);
    assert.equal(errors.length, 1, `expected one error line, got:\n${lines.join('')}`);
    assert.ok(JSON.stringify(errors[0]).includes('require-readiness-probe'));
    assert.ok(JSON.stringify(errors[0]).includes('cannot read the probe'));
    assert.equal(admissionLine(records(), body.request.uid).verdict, 'error');
    assertNoSecrets(lines);
  });

  test('an exception outside the rules is logged with the error, not the object', async () => {
    const { lines, logger, records } = capture();
    const { app, holder } = makeApp({}, { logger });
    const good = holder.current;
    Object.defineProperty(holder, 'current', { get: () => ({ ...good, exclude: undefined }) });
    const body = review(withSecrets([compliantContainer('app')]));
    const res = await request(app).post('/validate').send(body);
    assert.equal(res.status, 200);
    const errors = records().filter((record) => (record.level as number) >= 50 && record.uid === body.request.uid);
    assert.equal(errors.length, 1);
    assert.ok(errors[0]!.err, 'the error is logged');
    assert.equal(admissionLine(records(), body.request.uid).verdict, 'error');
    assertNoSecrets(lines);
  });
});
