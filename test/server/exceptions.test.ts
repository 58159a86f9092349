import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
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
  const namespaceLabels = (namespace: string) => (namespace === 'default' ? { env: 'sandbox' } : undefined);

  test("namespace labels come from the server's lookup: an excepted namespace is admitted, an unknown one denied", async () => {
    const object = workload('Deployment', [badContainer('app')]);
    const withLabels = makeApp(policy, { namespaceLabels }).app;
    assert.equal((await answer(withLabels, 'validate', review(object))).allowed, true);
    const patch = decodePatch((await answer(withLabels, 'mutate', review(object))).patch);
    assert.ok(patch.length > 0 && patch.every((operation) => !operation.path.includes('lifecycle')), JSON.stringify(patch));

    const withoutLabels = makeApp(policy).app;
    const denied = await answer(withoutLabels, 'validate', review(object));
    assert.equal(denied.allowed, false);
    assert.match(denied.status?.message ?? '', /no-shell-entrypoint/);
  });

  test('an expired exception is not applied', async () => {
    const object = workload('Deployment', [badContainer('app')], { name: 'expired-app' });
    const response = await answer(makeApp(policy).app, 'validate', review(object));
    assert.equal(response.allowed, false);
  });
});
