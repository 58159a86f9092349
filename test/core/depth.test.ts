import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonNestingExceeds, MAX_NESTING_DEPTH, parsedJsonNestingExceeds } from '../../src/core/depth.js';

const bytes = (text: string) => Buffer.from(text);

/** Levels of objects and arrays in a (small) value: the oracle. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = level % 2 === 0 ? { a: value } : [value];
  return value;
}

test('JSON nesting: counts objects and arrays, not brackets inside strings', () => {
  assert.equal(jsonNestingExceeds(bytes('{"a":[{"b":1}]}'), 3), false);
  assert.equal(jsonNestingExceeds(bytes('{"a":[{"b":[1]}]}'), 3), true);
  assert.equal(jsonNestingExceeds(bytes(`{"a":"${'['.repeat(1000)}"}`), 3), false);
  // An escaped quote does not end the string.
  assert.equal(jsonNestingExceeds(bytes(`{"a":"\\"${'{'.repeat(10)}"}`), 3), false);
  assert.equal(jsonNestingExceeds(bytes(`{"a":"\\\\"${',{"b":{"c":{}}}'}}`), 3), true);
});

test('JSON nesting: the default limit admits the deepest real objects and refuses absurd ones', () => {
  assert.equal(jsonNestingExceeds(bytes(JSON.stringify(nested(MAX_NESTING_DEPTH)))), false);
  assert.equal(jsonNestingExceeds(bytes(JSON.stringify(nested(MAX_NESTING_DEPTH + 1)))), true);
  assert.equal(jsonNestingExceeds(bytes('['.repeat(1_000_000))), true);
});

test('the byte scan and the walk of the parsed tree agree with the depth of the value, whatever the strings hold (quotes, backslashes, brackets)', () => {
  const text = fc.string({ unit: fc.constantFrom('"', '\\', '{', '[', ']', '}', 'a', 'é', '\n') });
  const value = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.array(tie('node')), fc.dictionary(text, tie('node'))),
  })).node;
  fc.assert(
    fc.property(value, fc.integer({ min: 0, max: 6 }), (parsed, limit) => {
      const expected = depthOf(parsed) > limit;
      assert.equal(jsonNestingExceeds(bytes(JSON.stringify(parsed)), limit), expected);
      assert.equal(parsedJsonNestingExceeds(parsed, limit), expected);
    }),
    { numRuns: 2000 },
  );
});

test('the walk of a parsed tree answers for any depth without overflowing the stack', () => {
  const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
  assert.equal(parsedJsonNestingExceeds(deep), true);
  assert.equal(parsedJsonNestingExceeds(nested(MAX_NESTING_DEPTH)), false);
  assert.equal(parsedJsonNestingExceeds(nested(MAX_NESTING_DEPTH + 1)), true);
});
