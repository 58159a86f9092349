import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import request from 'supertest';
import { wrap } from '../helpers/workloads.js';
import { makeApp, review } from './helpers.js';

async function validate(
  app: ReturnType<typeof makeApp>['app'],
  object: unknown,
): Promise<{ allowed: boolean; status?: { message: string } }> {
  const res = await request(app).post('/validate').set('content-type', 'application/json').send(review(object));
  assert.equal(res.status, 200);
  return res.body.response;
}

describe('webhook: Rollouts, DeploymentConfigs and kinds the policy adds', () => {
  const shell = {
    containers: [{ name: 'app', image: 'x', command: ['sh', '-c', 'setup; run'], readinessProbe: { tcpSocket: { port: 80 } } }],
  };

  test('a Rollout and a DeploymentConfig are judged like a Deployment', async () => {
    const { app } = makeApp();
    for (const kind of ['Rollout', 'DeploymentConfig']) {
      const response = await validate(app, wrap(kind, shell, { name: 'web', namespace: 'shop' }));
      assert.equal(response.allowed, false, kind);
      assert.match(response.status?.message ?? '', new RegExp(`^lifecycle-guard: ${kind} shop/web violates 1 lifecycle rule`));
    }
  });

  test('a CloneSet is judged once the policy adds it, at its pod spec path', async () => {
    const cloneSet = { ...wrap('CloneSet', shell, { name: 'web', namespace: 'shop' }), apiVersion: 'apps.kruise.io/v1alpha1' };
    assert.equal((await validate(makeApp().app, cloneSet)).allowed, true);
    const withKind = makeApp({
      workloadKinds: [
        { kind: 'CloneSet', group: 'apps.kruise.io', version: 'v1alpha1', resource: 'clonesets', podSpecPath: 'spec.template.spec' },
      ],
    }).app;
    assert.equal((await validate(withKind, cloneSet)).allowed, false);
  });
});
