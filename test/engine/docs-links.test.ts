import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { PolicyError } from '../../src/engine/policy-error.js';
import { policyFromObject, ruleDocsURL } from '../../src/engine/policy.js';
import { denialMessage, warningsFor } from '../../src/server/admission/respond.js';
import { pod } from '../rules/helpers.js';

describe('links to the rule reference', () => {
  test('docsBaseURL: /<id>.md appended, or {rule} replaced; only http(s)', () => {
    assert.equal(
      ruleDocsURL({ docsBaseURL: 'https://docs.example/rules/' }, 'no-shell-entrypoint'),
      'https://docs.example/rules/no-shell-entrypoint.md',
    );
    assert.equal(ruleDocsURL({ docsBaseURL: 'https://docs.example/r/{rule}.html' }, 'x'), 'https://docs.example/r/x.html');
    assert.throws(() => policyFromObject({ docsBaseURL: 'javascript:alert(1)' }, 'p'), PolicyError);
    assert.throws(() => policyFromObject({ docsBaseURL: 'not a url' }, 'p'), PolicyError);
  });

  test('a denial names the reference page of every rule it cites, once', () => {
    const policy = policyFromObject({ docsBaseURL: 'https://docs.example/rules' }, 'p');
    const object = pod([
      { name: 'a', command: ['sh', '-c', 'x; y'] },
      { name: 'b', command: ['sh', '-c', 'x; y'] },
    ]);
    const findings = evaluateObject(object, policy, { ruleType: 'validating' }).findings;
    const message = denialMessage('Pod default/demo', findings);
    assert.equal(message.split('\n').filter((line) => line === '  Docs: https://docs.example/rules/no-shell-entrypoint.md').length, 1);
    assert.match(message, /^ {2}Docs: https:\/\/docs\.example\/rules\/require-readiness-probe\.md$/m);
  });

  test('a warning ends with the link when it fits whole, and leaves it out rather than cut it', () => {
    const policy = policyFromObject({ docsBaseURL: 'https://docs.example/rules' }, 'p');
    const [finding] = evaluateObject(pod([{ name: 'app', readinessProbe: { exec: { command: ['true'] } } }]), policy, {
      ruleType: 'mutating',
    }).findings;
    assert.ok(finding);
    const [short] = warningsFor([finding], () => 'audit mode, not applied');
    assert.match(short ?? '', /\(see https:\/\/docs\.example\/rules\/[a-z-]+\.md\)$/);
    const [long] = warningsFor([{ ...finding, message: 'x'.repeat(200) }], () => undefined);
    assert.doesNotMatch(long ?? '', /see https/);
    assert.ok((long ?? '').length <= 256);
  });
});
