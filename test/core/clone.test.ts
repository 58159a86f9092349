import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cloneJson } from '../../src/core/clone.js';

test('cloneJson copies every JSON value exactly and shares no object or array with the original', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const copy = cloneJson(value);
      assert.deepStrictEqual(copy, value);
      const originals = new Set<unknown>();
      const collect = (node: unknown, into: Set<unknown>) => {
        if (typeof node !== 'object' || node === null) return;
        into.add(node);
        for (const child of Object.values(node)) collect(child, into);
      };
      collect(value, originals);
      const copies = new Set<unknown>();
      collect(copy, copies);
      for (const node of copies) assert.equal(originals.has(node), false);
    }),
  );
});

test('a change to the copy leaves the original as it was', () => {
  const original = { containers: [{ name: 'web', lifecycle: { preStop: { sleep: { seconds: 5 } } } }] };
  const copy = cloneJson(original);
  copy.containers[0]!.lifecycle.preStop.sleep.seconds = 10;
  copy.containers.push({ name: 'extra', lifecycle: { preStop: { sleep: { seconds: 1 } } } });
  assert.equal(original.containers[0]!.lifecycle.preStop.sleep.seconds, 5);
  assert.equal(original.containers.length, 1);
});

test('a "__proto__" key, which JSON.parse makes an own key, stays an own key of the copy and its prototype stays Object', () => {
  const parsed = JSON.parse('{"spec":{"__proto__":{"polluted":true},"containers":[]}}') as { spec: Record<string, unknown> };
  const copy = cloneJson(parsed);
  assert.deepStrictEqual(Object.keys(copy.spec), ['__proto__', 'containers']);
  assert.equal(Object.getPrototypeOf(copy.spec), Object.prototype);
  assert.deepStrictEqual(Object.getOwnPropertyDescriptor(copy.spec, '__proto__')?.value, { polluted: true });
  assert.equal((copy.spec as { polluted?: unknown }).polluted, undefined);
});
