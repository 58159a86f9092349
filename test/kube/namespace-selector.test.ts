import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hiddenFromPolicy, namespacesExcludedBySelector } from '../../src/kube/namespace-selector.js';

test('namespacesExcludedBySelector: NotIn on the namespace name, in every webhook of the configuration', () => {
  const configuration = {
    webhooks: [
      {
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'lifecycle-guard'] },
            { key: 'team', operator: 'NotIn', values: ['legacy'] },
            { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['apps'] },
          ],
        },
      },
      { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-public'] }] } },
      {},
    ],
  };
  assert.deepEqual(namespacesExcludedBySelector(configuration), ['kube-system', 'lifecycle-guard', 'kube-public']);
  assert.deepEqual(namespacesExcludedBySelector({}), []);
});

test('hiddenFromPolicy: what the selector hides and the policy would check; the policy excluding more is fine', () => {
  assert.deepEqual(hiddenFromPolicy(['kube-system', 'kube-public', 'lifecycle-guard'], ['kube-public', 'lifecycle-guard']), [
    'kube-system',
  ]);
  assert.deepEqual(hiddenFromPolicy(['lifecycle-guard'], ['kube-system', 'lifecycle-guard']), []);
  assert.deepEqual(hiddenFromPolicy(['b', 'a', 'b'], []), ['a', 'b']);
});
