// The worker thread of `lifecycle-guard audit` (started by src/cli/audit-thread.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { runAudit } from './audit.js';
import type { AuditJob, AuditOutcome } from './audit-thread.js';

const { options, terminal } = workerData as AuditJob;
let outcome: AuditOutcome;
try {
  const report = await runAudit(options, terminal);
  outcome = { denied: report.summary.denied > 0 };
} catch (error) {
  outcome = {
    error:
      error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { name: 'Error', message: String(error) },
  };
}
parentPort?.postMessage(outcome);
