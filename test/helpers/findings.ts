import type { ReportFinding } from '../../src/engine/report.js';

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
