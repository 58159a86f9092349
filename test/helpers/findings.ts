import { summarize, type ReportFinding } from '../../src/engine/report.js';
import type { ScanFinding, ScanReport } from '../../src/kube/scanner.js';

/** A report finding: a Deployment's container running `sh -c`, with any field replaced. */
export function reportFinding<T extends Partial<ReportFinding>>(overrides: T): ReportFinding & T {
  return {
    kind: 'Deployment',
    namespace: 'shop',
    name: 'web',
    container: 'web',
    rule: 'no-shell-entrypoint',
    type: 'validating',
    mode: 'enforce',
    message: 'runs `sh -c` as PID 1',
    fix: 'use exec form',
    ...overrides,
  };
}

/** A scan result holding these findings, with this many objects checked per namespace. */
export function scanReport(findings: ScanFinding[], objectsByNamespace: Record<string, number>): ScanReport {
  return {
    generatedAt: '2026-11-26T00:00:00.000Z',
    cluster: 'https://127.0.0.1:6443',
    namespaces: Object.keys(objectsByNamespace).sort(),
    findings,
    objectsByNamespace,
    summary: summarize(
      Object.values(objectsByNamespace).reduce((sum, count) => sum + count, 0),
      findings,
    ),
  };
}
