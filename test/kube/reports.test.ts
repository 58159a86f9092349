import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildReports } from '../../src/kube/reports.js';
import type { ScanFinding } from '../../src/kube/scanner.js';
import { reportFinding, scanReport } from '../helpers/findings.js';

function finding(overrides: Partial<ScanFinding>): ScanFinding {
  return reportFinding({ apiVersion: 'apps/v1', uid: 'uid-1', ...overrides });
}

describe('buildReports', () => {
  const findings = [
    finding({}),
    finding({ rule: 'inject-prestop-delay', type: 'mutating', message: 'adds a preStop sleep of 5s' }),
    finding({
      namespace: 'shop',
      name: 'cart',
      uid: 'uid-2',
      rule: 'require-readiness-probe',
      mode: 'audit',
      message: 'has no readinessProbe',
    }),
    finding({
      namespace: 'pay',
      name: 'ledger',
      kind: 'StatefulSet',
      uid: 'uid-3',
      container: '',
      message: 'raises terminationGracePeriodSeconds',
    }),
  ];
  const result = scanReport(findings, { shop: 5, pay: 1, quiet: 3 });

  test('one PolicyReport per namespace, with the namespace as scope and summary counts', () => {
    const reports = buildReports(result, 'PolicyReport');
    assert.deepEqual(
      reports.map((report) => [(report.metadata as { namespace: string }).namespace, report.summary]),
      [
        ['pay', { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 }],
        ['quiet', { pass: 3, fail: 0, warn: 0, error: 0, skip: 0 }],
        ['shop', { pass: 3, fail: 2, warn: 1, error: 0, skip: 0 }],
      ],
    );
    for (const [index, namespace] of ['pay', 'quiet', 'shop'].entries()) {
      const report = reports[index];
      assert.equal(report?.apiVersion, 'wgpolicyk8s.io/v1alpha2');
      assert.equal(report?.kind, 'PolicyReport');
      assert.deepEqual(report?.metadata, {
        name: 'lifecycle-guard',
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'lifecycle-guard' },
      });
      assert.deepEqual(report?.scope, { apiVersion: 'v1', kind: 'Namespace', name: namespace });
      assert.equal(report?.source, undefined);
    }
  });

  test('results carry rule, result, severity, the resource and the fix', () => {
    const shop = buildReports(result, 'PolicyReport').find((report) => (report.metadata as { namespace: string }).namespace === 'shop');
    assert.deepEqual((shop?.results as unknown[])[0], {
      source: 'lifecycle-guard',
      policy: 'lifecycle-guard',
      rule: 'no-shell-entrypoint',
      category: 'Pod Lifecycle',
      severity: 'medium',
      result: 'fail',
      scored: true,
      message: 'container "web" runs `sh -c` as PID 1',
      timestamp: { seconds: 1795651200, nanos: 0 },
      resources: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'shop', uid: 'uid-1' }],
      properties: { container: 'web', mode: 'enforce', fix: 'use exec form' },
    });
    const results = shop?.results as { rule: string; result: string; severity: string }[];
    assert.deepEqual(
      results.map((entry) => [entry.rule, entry.result, entry.severity]),
      [
        ['no-shell-entrypoint', 'fail', 'medium'],
        ['inject-prestop-delay', 'fail', 'low'],
        ['require-readiness-probe', 'warn', 'medium'],
      ],
    );
  });

  test('OpenReports: same results under openreports.io/v1alpha1 Report, with a top-level source', () => {
    const [report] = buildReports(result, 'OpenReports');
    assert.equal(report?.apiVersion, 'openreports.io/v1alpha1');
    assert.equal(report?.kind, 'Report');
    assert.equal(report?.source, 'lifecycle-guard');
    assert.deepEqual(report?.results, buildReports(result, 'PolicyReport')[0]?.results);
  });

  test('a message without a container is kept as it is', () => {
    const [pay] = buildReports(result, 'PolicyReport');
    assert.equal((pay?.results as { message: string }[])[0]?.message, 'raises terminationGracePeriodSeconds');
  });
});
