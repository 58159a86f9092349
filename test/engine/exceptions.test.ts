import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManifestChecker } from '../../src/cli/check.js';
import { fixManifests } from '../../src/cli/fix.js';
import { manifestValues, namespaceLabelsIn, parseManifests } from '../../src/cli/manifests.js';
import { formatTable } from '../../src/cli/report-format.js';
import { matchesPattern, matchesSelector } from '../../src/core/labels.js';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { mutateObject } from '../../src/engine/mutate.js';
import { PolicyError } from '../../src/engine/policy-error.js';
import { parsePolicy } from '../../src/engine/policy-text.js';
import { policyFromObject } from '../../src/engine/policy.js';
import { summarize } from '../../src/engine/report.js';
import { stringify } from 'yaml';
import { wrap } from '../helpers/workloads.js';

/** A Deployment with a shell as PID 1 and no readinessProbe: two validating findings. */
function legacy(namespace: string, name: string, labels: Record<string, string> = {}) {
  return wrap('Deployment', { containers: [{ name: 'app', command: ['sh', '-c', 'setup; run'] }] }, { name, namespace, labels });
}

const validatingRules = (object: unknown, policy: ReturnType<typeof policyFromObject>, options = {}) =>
  [...new Set(evaluateObject(object, policy, { ruleType: 'validating', ...options }).findings.map((finding) => finding.rule))].sort();

const NOW = Date.parse('2026-06-15T12:00:00Z');

describe('policy exceptions: matching', () => {
  test('named workloads with * and ? wildcards lift only the named rules', () => {
    const policy = policyFromObject(
      {
        exceptions: [
          {
            rules: ['no-shell-entrypoint'],
            workloads: [{ namespace: 'team-*', kind: 'Deploy*', name: 'legacy-?' }],
            reason: 'rewrite in Q3',
          },
        ],
      },
      'p',
    );
    assert.deepEqual(validatingRules(legacy('team-a', 'legacy-1'), policy), ['require-readiness-probe']);
    assert.deepEqual(validatingRules(legacy('team-a', 'legacy-12'), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
    assert.deepEqual(validatingRules(legacy('shop', 'legacy-1'), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
    const evaluation = evaluateObject(legacy('team-a', 'legacy-1'), policy);
    assert.deepEqual(evaluation.excepted, [{ rule: 'no-shell-entrypoint', exception: 0 }]);
  });

  test("objectSelector: matchLabels and matchExpressions on the object's own labels; `all` lifts every rule", () => {
    const policy = policyFromObject(
      {
        exceptions: [
          {
            rules: ['all'],
            objectSelector: {
              matchLabels: { tier: 'legacy' },
              matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['payments'] }],
            },
          },
        ],
      },
      'p',
    );
    assert.deepEqual(validatingRules(legacy('shop', 'a', { tier: 'legacy', team: 'search' }), policy), []);
    assert.equal(mutateObject(legacy('shop', 'a', { tier: 'legacy' }), policy).patch.length, 0);
    assert.deepEqual(validatingRules(legacy('shop', 'a', { tier: 'legacy', team: 'payments' }), policy), [
      'no-shell-entrypoint',
      'require-readiness-probe',
    ]);
    assert.deepEqual(validatingRules(legacy('shop', 'a', { tier: 'modern' }), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
  });

  test("namespaceSelector needs the namespace's labels: unknown labels mean the rules apply", () => {
    const policy = policyFromObject(
      { exceptions: [{ rules: ['require-readiness-probe'], namespaceSelector: { matchLabels: { env: 'sandbox' } } }] },
      'p',
    );
    const labels = (namespace: string) => (namespace === 'play' ? { env: 'sandbox' } : namespace === 'prod' ? { env: 'prod' } : undefined);
    assert.deepEqual(validatingRules(legacy('play', 'a'), policy, { namespaceLabels: labels }), ['no-shell-entrypoint']);
    assert.deepEqual(validatingRules(legacy('prod', 'a'), policy, { namespaceLabels: labels }), [
      'no-shell-entrypoint',
      'require-readiness-probe',
    ]);
    assert.deepEqual(validatingRules(legacy('unknown', 'a'), policy, { namespaceLabels: labels }), [
      'no-shell-entrypoint',
      'require-readiness-probe',
    ]);
    assert.deepEqual(validatingRules(legacy('play', 'a'), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
  });

  test('every matcher an exception sets must match', () => {
    const policy = policyFromObject(
      {
        exceptions: [
          {
            rules: ['no-shell-entrypoint'],
            objectSelector: { matchLabels: { tier: 'legacy' } },
            workloads: [{ namespace: 'shop', name: '*' }],
          },
        ],
      },
      'p',
    );
    assert.deepEqual(validatingRules(legacy('shop', 'a', { tier: 'legacy' }), policy), ['require-readiness-probe']);
    assert.deepEqual(validatingRules(legacy('other', 'a', { tier: 'legacy' }), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
    assert.deepEqual(validatingRules(legacy('shop', 'a'), policy), ['no-shell-entrypoint', 'require-readiness-probe']);
  });

  test('an expired exception stops applying: a date holds through that day (UTC), a time until that instant', () => {
    const policy = policyFromObject(
      {
        exceptions: [
          { rules: ['no-shell-entrypoint'], workloads: [{ name: 'by-date' }], expires: '2026-06-15' },
          { rules: ['no-shell-entrypoint'], workloads: [{ name: 'by-time' }], expires: '2026-06-15T11:59:59Z' },
        ],
      },
      'p',
    );
    assert.deepEqual(validatingRules(legacy('shop', 'by-date'), policy, { now: NOW }), ['require-readiness-probe']);
    assert.deepEqual(validatingRules(legacy('shop', 'by-date'), policy, { now: Date.parse('2026-06-16T00:00:00Z') }), [
      'no-shell-entrypoint',
      'require-readiness-probe',
    ]);
    assert.deepEqual(validatingRules(legacy('shop', 'by-time'), policy, { now: NOW }), ['no-shell-entrypoint', 'require-readiness-probe']);
  });
});

describe('policy exceptions: validation', () => {
  const refused = (exception: unknown) => {
    assert.throws(() => policyFromObject({ exceptions: [exception] }, 'p'), PolicyError);
    try {
      policyFromObject({ exceptions: [exception] }, 'p');
    } catch (error) {
      return (error as Error).message;
    }
    return '';
  };
  test('unknown rule ids, missing matchers, bad dates and bad selectors are refused with the key named', () => {
    assert.match(refused({ rules: ['no-such-rule'], workloads: [{ name: 'x' }] }), /exceptions\.0\.rules\.0/);
    assert.match(refused({ rules: ['all'] }), /namespaceSelector, objectSelector or workloads/);
    assert.match(
      refused({ rules: ['all'], workloads: [{ name: 'x' }], expires: 'next week' }),
      /exceptions\.0\.expires: a date such as 2026-12-31/,
    );
    assert.match(
      refused({ rules: ['all'], objectSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }),
      /In and NotIn need values/,
    );
    assert.match(refused({ rules: ['all'], workloads: [{ name: 'x', cluster: 'y' }] }), /unknown key/);
  });

  test('a YAML policy with an exception loads', () => {
    const policy = parsePolicy(
      'exceptions:\n- rules: [require-readiness-probe]\n  workloads: [{namespace: batch, kind: Deployment, name: "*"}]\n  reason: workers\n  expires: 2027-01-31\n',
      'p',
    );
    assert.equal(policy.exceptions[0]?.expires?.text, '2027-01-31');
  });
});

describe('policy exceptions: check, fix and the report', () => {
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'play', labels: { env: 'sandbox' } } };
  const web = wrap('Deployment', { containers: [{ name: 'web', image: 'x', command: ['/web'] }] }, { name: 'web', namespace: 'play' });
  const text = `${stringify(namespace)}---\n${stringify(web)}`;
  const files = [parseManifests('all.yaml', text)];
  const policy = policyFromObject(
    {
      exceptions: [
        {
          rules: ['require-readiness-probe', 'inject-prestop-delay'],
          namespaceSelector: { matchLabels: { env: 'sandbox' } },
          reason: 'sandbox',
          expires: '2999-01-01',
        },
        { rules: ['all'], workloads: [{ name: 'gone' }], reason: 'old migration', expires: '2020-01-01' },
      ],
    },
    'p',
  );

  test('check reads namespace labels from Namespace objects in the input, and reports every exception', () => {
    const checker = new ManifestChecker(policy, { namespaceLabels: namespaceLabelsIn([namespace]) });
    checker.checkFile('all.yaml', manifestValues('all.yaml', text));
    const result = checker.result();
    assert.deepEqual([...new Set(result.findings.map((finding) => finding.rule))], ['termination-message-fallback']);
    assert.equal(result.summary.denied, 0);
    assert.deepEqual(
      result.exceptions?.map(({ index, expired, objects }) => [index, expired, objects]),
      [
        [0, false, 1],
        [1, true, 0],
      ],
    );
    const table = formatTable(result, () => 'all.yaml', {
      bold: String,
      dim: String,
      red: String,
      yellow: String,
      cyan: String,
      green: String,
    } as never);
    assert.match(
      table,
      /exception #1 \(require-readiness-probe, inject-prestop-delay\): sandbox: 1 object\(s\) excepted, until 2999-01-01/,
    );
    assert.match(table, /exception #2 \(all\): old migration: expired 2020-01-01, no longer applied/);
  });

  test('fix applies the same exceptions: no preStop in the excepted namespace', () => {
    const fixed = fixManifests(files[0]!, policy, {}, (namespace) => (namespace === 'play' ? { env: 'sandbox' } : undefined));
    assert.doesNotMatch(fixed.text, /preStop/);
    assert.match(fixed.text, /terminationMessagePolicy: FallbackToLogsOnError/);
    assert.match(fixManifests(files[0]!, policy).text, /preStop/);
  });
});

describe('labels and patterns', () => {
  test('matchesSelector: every operator', () => {
    const labels = { app: 'web', tier: 'front' };
    assert.equal(matchesSelector({}, labels), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels), false);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, labels), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels), true);
    assert.equal(matchesSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels), false);
    assert.equal(matchesSelector({ matchLabels: { app: 'web', tier: 'back' } }, labels), false);
    assert.equal(matchesSelector({ matchLabels: { constructor: 'x' } }, {}), false);
  });

  test('matchesPattern: * and ? are the only wildcards', () => {
    assert.equal(matchesPattern('team-*', 'team-'), true);
    assert.equal(matchesPattern('a.b', 'axb'), false);
    assert.equal(matchesPattern('web-?', 'web-12'), false);
    assert.equal(matchesPattern('(x)+', '(x)+'), true);
  });
});

describe('policy exceptions in the HTML report', () => {
  test('each exception is listed, an expired one marked, its reason escaped', async () => {
    const { renderHtmlReport } = await import('../../src/cli/html-report.js');
    const html = renderHtmlReport({
      generatedAt: '2026-06-15T12:00:00Z',
      cluster: 'https://127.0.0.1:6443',
      namespaces: [],
      findings: [],
      summary: summarize(0, []),
      exceptions: [{ index: 0, rules: ['all'], reason: '<b>old</b>', expires: '2020-01-01', expired: true, objects: 0 }],
    });
    assert.match(html, /<li class="expired">exception #1 \(all\): &lt;b&gt;old&lt;\/b&gt;: expired 2020-01-01, no longer applied<\/li>/);
  });
});
