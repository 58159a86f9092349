// Valid but huge AdmissionReviews (many containers, long strings, deep but legal nesting): every answer
// is a well-formed 200 with the uid, or a 4xx with an error, and its size stays within a constant bound
// (denials, warnings and the patch each have their limit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { MAX_NESTING_DEPTH } from '../../src/core/depth.js';
import { MAX_MESSAGE_BYTES } from '../../src/server/admission/respond.js';
import { MAX_PATCH_BYTES } from '../../src/server/admission/mutate.js';
import { badContainer, compliantContainer, makeApp, pod, review, unmutatedContainer, type Json } from './helpers.js';

/** Levels above the nested value inside the AdmissionReview: request.object.spec.containers[0].env[0].valueFrom. */
const NESTED_VALUE_DEPTH = 8;

interface Shape {
  containers: number;
  nameLength: number;
  argLength: number;
  depth: number;
  mix: number;
}

const DEEP = '<nested>';

/** The review as JSON text; the nested value is spliced in, since JSON.stringify itself recurses. */
function hugeReview(shape: Shape): { uid: string; text: string } {
  const makers = [badContainer, compliantContainer, unmutatedContainer];
  const containers: Json[] = Array.from({ length: shape.containers }, (_, index) => {
    const make = makers[(index + shape.mix) % makers.length]!;
    return make(`c${index}-${'n'.repeat(index === 0 ? shape.nameLength : 0)}`, index === 0 ? { args: ['x'.repeat(shape.argLength)] } : {});
  });
  containers[0]!.env = [{ name: 'DEEP', valueFrom: DEEP }];
  const body = review(pod(containers));
  const nested = `${'{"next":'.repeat(shape.depth)}"leaf"${'}'.repeat(shape.depth)}`;
  return { uid: body.request.uid, text: JSON.stringify(body).replace(`"${DEEP}"`, nested) };
}

const shapes = fc.record({
  containers: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1000, max: 6000 })),
  nameLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 })),
  argLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500_000 })),
  depth: fc.oneof(fc.integer({ min: 0, max: MAX_NESTING_DEPTH - NESTED_VALUE_DEPTH }), fc.integer({ min: MAX_NESTING_DEPTH, max: 5000 })),
  mix: fc.integer({ min: 0, max: 2 }),
});

test('huge valid reviews get a well-formed, size-bounded answer from both endpoints', async () => {
  const { app } = makeApp();
  await fc.assert(
    fc.asyncProperty(shapes, fc.constantFrom('validate', 'mutate'), async (shape, endpoint) => {
      const { uid, text } = hugeReview(shape);
      const res = await request(app).post(`/${endpoint}`).set('content-type', 'application/json').send(text);
      const tooDeep = shape.depth + NESTED_VALUE_DEPTH > MAX_NESTING_DEPTH;
      if (tooDeep) {
        assert.equal(res.status, 400, res.text.slice(0, 200));
        assert.match(res.body.error, /nested deeper than/);
        return;
      }
      assert.equal(res.status, 200, res.text.slice(0, 200));
      const response = res.body.response;
      assert.equal(response.uid, uid);
      assert.equal(typeof response.allowed, 'boolean');
      if (response.status !== undefined) assert.ok(Buffer.byteLength(response.status.message) <= MAX_MESSAGE_BYTES);
      const warningBytes = (response.warnings ?? []).reduce((sum: number, warning: string) => sum + Buffer.byteLength(warning), 0);
      assert.ok(warningBytes <= 4096, `${warningBytes} bytes of warnings`);
      // Everything is bounded by a constant, whatever the request: the patch by its own limit.
      const { patch, ...rest } = response;
      assert.ok(JSON.stringify(rest).length <= 48 * 1024, `${JSON.stringify(rest).length} bytes besides the patch`);
      if (patch !== undefined) {
        const patchBytes = Buffer.from(patch, 'base64').length;
        assert.ok(patchBytes <= MAX_PATCH_BYTES, `patch of ${patchBytes} bytes for a ${text.length}-byte request`);
      }
    }),
    { numRuns: 24 },
  );
});
