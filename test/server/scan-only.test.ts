// `serve --scan-only`: a server beside exported admission policies answers health, metrics and
// extra routes such as /reports, and no admission request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import request from 'supertest';
import { badContainer, makeApp, pod, review } from './helpers.js';

test('without admission routes, /validate and /mutate are 404 while health answers, and metrics and extra routes on their port', async () => {
  const { app, metricsApp } = makeApp({}, { admission: false, routes: { '/reports': () => ({ status: 'no scan finished yet' }) } });
  for (const path of ['/validate', '/mutate']) {
    const res = await request(app)
      .post(path)
      .send(review(pod([badContainer('web')])));
    assert.equal(res.status, 404, path);
  }
  assert.equal((await request(app).get('/healthz')).status, 200);
  assert.equal((await request(app).get('/readyz')).status, 200);
  assert.match((await request(metricsApp).get('/metrics')).text, /lifecycle_guard_/);
  assert.deepEqual((await request(metricsApp).get('/reports')).body, { status: 'no scan finished yet' });
});
