import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { OFF_THREAD_BYTES } from '../../src/server/admission/off-thread.js';
import { badContainer, decodePatch, makeApp, review, workload } from './helpers.js';

interface Answer {
  allowed: boolean;
  status?: { message: string };
  patch?: string;
}

async function answer(app: ReturnType<typeof makeApp>['app'], endpoint: 'validate' | 'mutate', body: unknown): Promise<Answer> {
  const res = await request(app)
    .post(`/${endpoint}`)
    .set('content-type', 'application/json')
    .send(body as object);
  assert.equal(res.status, 200);
  return res.body.response as Answer;
}

describe('webhook: policy exceptions, as check and fix apply them', () => {
  const policy = {
    mutateTemplates: true,
    exceptions: [
      {
        rules: ['no-shell-entrypoint', 'require-readiness-probe', 'inject-prestop-delay'],
        namespaceSelector: { matchLabels: { env: 'sandbox' } },
      },
      { rules: ['all'], workloads: [{ namespace: '*', kind: 'Deployment', name: 'expired-*' }], expires: '2020-01-01' },
    ],
  };
  const labelsByNamespace: Record<string, Record<string, string>> = { default: { env: 'sandbox' }, production: { env: 'production' } };
  const namespaces = { labels: (namespace: string) => labelsByNamespace[namespace], all: () => labelsByNamespace };

  test("namespace labels come from the server's lookup: an excepted namespace is admitted, an unknown one denied", async () => {
    const object = workload('Deployment', [badContainer('app')]);
    const withLabels = makeApp(policy, { namespaces }).app;
    assert.equal((await answer(withLabels, 'validate', review(object))).allowed, true);
    const patch = decodePatch((await answer(withLabels, 'mutate', review(object))).patch);
    assert.ok(patch.length > 0 && patch.every((operation) => !operation.path.includes('lifecycle')), JSON.stringify(patch));

    const withoutLabels = makeApp(policy).app;
    const denied = await answer(withoutLabels, 'validate', review(object));
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /no-shell-entrypoint/);
  });

  test('a review too large to decide inline (the worker thread) gets the namespace labels too', async () => {
    // Over OFF_THREAD_BYTES: a functions-only lookup cannot cross to the worker, so the labels go as data.
    const padding = Array.from({ length: 3000 }, (_, index) => ({ name: `SETTING_${index}`, value: 'x'.repeat(20) }));
    const large = (namespace: string) => {
      const object = workload('Deployment', [badContainer('app', { env: padding })]);
      (object.metadata as Record<string, unknown>).namespace = namespace;
      return review(object);
    };
    const sandbox = large('default');
    assert.ok(JSON.stringify(sandbox).length > OFF_THREAD_BYTES);
    const { app } = makeApp(policy, { namespaces });
    assert.equal((await answer(app, 'validate', sandbox)).allowed, true, 'the excepted namespace is admitted');
    const patch = decodePatch((await answer(app, 'mutate', sandbox)).patch);
    assert.ok(
      patch.every((operation) => !operation.path.includes('lifecycle')),
      'no preStop injected where the exception applies',
    );
    const production = await answer(app, 'validate', large('production'));
    assert.equal(production.allowed, false, 'a namespace the selector does not match is still denied');
  });

  test('an expired exception is not applied', async () => {
    const object = workload('Deployment', [badContainer('app')], { name: 'expired-app' });
    const response = await answer(makeApp(policy).app, 'validate', review(object));
    assert.equal(response.allowed, false);
  });
});
