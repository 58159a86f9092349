import { InvalidArgumentError } from 'commander';
import { ensureLocalCertificates } from '../server/certificates.js';
import { createLogger } from '../server/logger.js';
import { createMetrics } from '../server/metrics.js';
import { PolicyHolder } from '../server/policy-holder.js';
import { WebhookServer } from '../server/server.js';
import { InputError } from './manifests.js';
import { loadPolicyFile } from './policy-file.js';

export interface ServeOptions {
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  certDir: string;
  policy?: string;
  shutdownDelay: number;
  shutdownTimeout: number;
  logLevel: string;
}

export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError('expected a number of seconds (0 or more)');
  return seconds;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return port;
}

/** Starts the webhook and keeps it running until SIGTERM or SIGINT, then shuts down gracefully. */
export async function runServe(options: ServeOptions): Promise<void> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new InputError('--tls-cert and --tls-key go together');
  }
  const logger = createLogger(options.logLevel);
  const metrics = createMetrics();
  const policy = new PolicyHolder(loadPolicyFile(options.policy), metrics);
  let tls;
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    tls = { certFile: options.tlsCert, keyFile: options.tlsKey };
  } else {
    tls = await ensureLocalCertificates(options.certDir, ['localhost', '127.0.0.1', '::1']);
    logger.info({ certFile: tls.certFile, caFile: tls.caFile, generated: tls.generated }, 'using local self-signed certificate');
  }
  const server = new WebhookServer({
    port: options.port,
    host: options.host,
    tls,
    policy,
    metrics,
    logger,
    shutdownDelayMs: options.shutdownDelay * 1000,
    shutdownTimeoutMs: options.shutdownTimeout * 1000,
  });
  await server.start();
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
