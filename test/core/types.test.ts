import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectName } from '../../src/core/types.js';

test('objectName: the name, else generateName (also for an empty name, as the API server has it), else ""', () => {
  assert.equal(objectName({ metadata: { name: 'web', generateName: 'web-' } }), 'web');
  assert.equal(objectName({ metadata: { name: '', generateName: 'web-' } }), 'web-');
  assert.equal(objectName({ metadata: { generateName: 'web-' } }), 'web-');
  assert.equal(objectName({ metadata: { name: 7, generateName: ['x'] } }), '');
  assert.equal(objectName({ metadata: 'web' }), '');
  assert.equal(objectName(null), '');
});
