import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asStringMap, objectName } from '../../src/core/types.js';

test('objectName: the name, else generateName (also for an empty name, as the API server has it), else ""', () => {
  assert.equal(objectName({ metadata: { name: 'web', generateName: 'web-' } }), 'web');
  assert.equal(objectName({ metadata: { name: '', generateName: 'web-' } }), 'web-');
  assert.equal(objectName({ metadata: { generateName: 'web-' } }), 'web-');
  assert.equal(objectName({ metadata: { name: 7, generateName: ['x'] } }), '');
  assert.equal(objectName({ metadata: 'web' }), '');
  assert.equal(objectName(null), '');
});

test('asStringMap: only string values; a "__proto__" key stays an own entry and the prototype stays Object', () => {
  const labels = JSON.parse('{"app":"web","__proto__":"x","replicas":3,"tier":null,"owner":{"name":"a"}}') as unknown;
  const map = asStringMap(labels);
  assert.deepStrictEqual(Object.keys(map), ['app', '__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(map, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(map), Object.prototype);
  assert.deepStrictEqual(asStringMap(['a']), {});
  assert.deepStrictEqual(asStringMap('app=web'), {});
});
