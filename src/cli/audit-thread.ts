import { PolicyError } from '../engine/policy-error.js';
import { startWorker } from '../threads/worker.js';
import type { AuditOptions, AuditTerminal } from './audit.js';
import { InputError } from './input-error.js';

/**
 * The young generation of the audit's thread, in MiB (two 2 MiB semi-spaces and room to promote).
 * Loading the Kubernetes client grows V8's default to two 16 MiB semi-spaces, which stayed resident
 * for the whole scan; a Node flag could not be set from inside the CLI, a worker's resourceLimits can.
 */
const YOUNG_GENERATION_MB = 6;

export interface AuditJob {
  options: AuditOptions;
  terminal: AuditTerminal;
}

/** What the worker reports back: whether the webhook would deny something, or the error that ended the audit. */
export type AuditOutcome = { denied: boolean } | { error: { name: string; message: string; stack?: string } };

/** The error as the main thread would have thrown it, so that main() reports it and picks the exit code as before. */
function rethrown({ name, message, stack }: { name: string; message: string; stack?: string }): Error {
  if (name === 'InputError') return new InputError(message);
  if (name === 'PolicyError') return new PolicyError(message);
  return Object.assign(new Error(message), { name, ...(stack === undefined ? {} : { stack }) });
}

/**
 * Runs `audit` (src/cli/audit.ts) in a worker thread: this thread never loads the Kubernetes client,
 * and the worker's young generation stays small (docs/performance.md). Its output goes through this
 * thread's stdout and stderr. Resolves to true when the webhook would deny something.
 */
export function auditInWorker(options: AuditOptions): Promise<boolean> {
  const job: AuditJob = { options, terminal: { stdoutIsTTY: process.stdout.isTTY === true, stderrIsTTY: process.stderr.isTTY === true } };
  const worker = startWorker('audit-worker', import.meta.url, {
    workerData: job,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  return new Promise((resolve, reject) => {
    let outcome: AuditOutcome | undefined;
    worker.on('message', (message: AuditOutcome) => (outcome = message));
    worker.on('error', reject);
    // 'exit' comes once the worker's output has been handed to this thread's streams.
    worker.on('exit', (code) => {
      if (outcome === undefined) reject(new Error(`the audit's worker thread stopped (exit code ${code}) without a result`));
      else if ('error' in outcome) reject(rethrown(outcome.error));
      else resolve(outcome.denied);
    });
  });
}
