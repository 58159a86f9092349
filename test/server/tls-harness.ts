// An in-process WebhookServer over real TLS on loopback, with a client that trusts its CA.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ensureLocalCertificates } from '../../src/tls/certificates.js';
import { createMetrics } from '../../src/server/metrics.js';
import { PolicyHolder } from '../../src/server/policy-holder.js';
import { WebhookServer, type WebhookServerOptions } from '../../src/server/server.js';
import { makePolicy } from './helpers.js';

export interface TlsServer {
  server: WebhookServer;
  ca: Buffer;
  certDir: string;
  stop(): Promise<void>;
}

export async function startTlsServer(options: Partial<WebhookServerOptions> = {}): Promise<TlsServer> {
  const certDir = mkdtempSync(join(tmpdir(), 'lg-tls-'));
  const files = await ensureLocalCertificates(certDir, ['localhost', '127.0.0.1']);
  const metrics = createMetrics();
  const server = new WebhookServer({
    port: 0,
    host: '127.0.0.1',
    tls: files,
    policy: new PolicyHolder(makePolicy(), metrics),
    metrics,
    logger: pino({ level: 'silent' }),
    shutdownDelayMs: 0,
    shutdownTimeoutMs: 1000,
    ...options,
  });
  await server.start();
  return {
    server,
    ca: readFileSync(files.caFile),
    certDir,
    stop: async () => {
      await server.stop();
      rmSync(certDir, { recursive: true, force: true });
    },
  };
}

export interface HttpsAnswer {
  status: number;
  text: string;
}

/** One request over TLS; `port` defaults to the webhook port. */
export function httpsCall(
  target: TlsServer,
  method: string,
  path: string,
  body?: string | Buffer,
  agent?: Agent,
  port = target.server.port,
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: target.ca,
        agent: agent ?? false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
