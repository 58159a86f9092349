// The JSON Patch a /mutate answer carries is bounded: past MAX_PATCH_BYTES the object is admitted
// unchanged, with a warning, an audit annotation, a log field and a metric saying why; never refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { MAX_PATCH_BYTES } from '../../src/server/admission/mutate.js';
import { decodePatch, makeApp, pod, review, unmutatedContainer } from './helpers.js';

interface MutateResponse {
  allowed: boolean;
  patch?: string;
  patchType?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** /mutate of a Pod with `count` containers that both mutating rules change (about 200 bytes of patch each). */
async function mutatePod(count: number) {
  const test = makeApp();
  const body = review(pod(Array.from({ length: count }, (_, index) => unmutatedContainer(`c${index}`))));
  const res = await request(test.app).post('/mutate').set('Content-Type', 'application/json').send(JSON.stringify(body));
  assert.equal(res.status, 200, res.text.slice(0, 200));
  const response = (res.body as { response: MutateResponse }).response;
  const withheld = (await test.metrics.withheldPatches.get()).values[0]?.value ?? 0;
  const verdicts = (await test.metrics.requests.get()).values.map(({ labels }) => labels.verdict);
  return { response, withheld, verdicts };
}

describe('the size of a mutation patch', () => {
  test('a patch under the limit is sent whole', async () => {
    const { response, withheld, verdicts } = await mutatePod(5_000);
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const patch = decodePatch(response.patch);
    assert.ok(JSON.stringify(patch).length <= MAX_PATCH_BYTES);
    assert.equal(new Set(patch.map((operation) => operation.path.split('/')[3])).size, 5_000);
    assert.equal(withheld, 0);
    assert.deepEqual(verdicts, ['mutated']);
  });

  test('a patch over the limit is withheld: admitted unchanged, with a warning, an audit annotation and a metric', async () => {
    const { response, withheld, verdicts } = await mutatePod(6_000);
    assert.equal(response.allowed, true);
    assert.ok(response.patch === undefined, 'no patch');
    assert.equal(response.patchType, undefined);
    const notice = new RegExp(
      `^lifecycle-guard: 12000 change\\(s\\) not applied: their JSON Patch is \\d+ bytes, over the ${MAX_PATCH_BYTES}-byte limit`,
    );
    assert.match(response.warnings?.[0] ?? '', notice);
    assert.ok((response.warnings?.[0]?.length ?? 0) <= 256);
    assert.match(response.auditAnnotations?.['patch-withheld'] ?? '', notice);
    assert.equal(withheld, 1);
    assert.deepEqual(verdicts, ['warned']);
  });

  test('audit-mode warnings stay beside the notice', async () => {
    const test = makeApp({ rules: { 'termination-message-fallback': { mode: 'audit' } } });
    const body = review(pod(Array.from({ length: 12_000 }, (_, index) => unmutatedContainer(`c${index}`))));
    const res = await request(test.app).post('/mutate').set('Content-Type', 'application/json').send(JSON.stringify(body));
    const response = (res.body as { response: MutateResponse }).response;
    assert.ok(response.patch === undefined, 'no patch');
    assert.match(response.warnings?.[0] ?? '', /12000 change\(s\) not applied/);
    assert.match(response.warnings?.[1] ?? '', /\[termination-message-fallback\] audit mode, not applied/);
    assert.ok(Buffer.byteLength((response.warnings ?? []).join('')) <= 4096);
    assert.ok(response.auditAnnotations?.['termination-message-fallback'] !== undefined);
    assert.ok(response.auditAnnotations?.['patch-withheld'] !== undefined);
  });
});
