import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { createApp, type AppDeps } from './app.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface WebhookServerOptions extends Omit<AppDeps, 'isReady'> {
  port: number;
  host?: string;
  tls: TlsFiles;
  /** How long /readyz fails while requests are still served, before the listener closes. */
  shutdownDelayMs: number;
  /** After this, connections still open are cut (the Pod's grace period must be longer). */
  shutdownTimeoutMs: number;
  /** How often the certificate files are checked for changes. */
  tlsPollIntervalMs?: number;
  /** A request must have arrived in full within this (default 30 s), its headers within 10 s (or this, if shorter). */
  requestTimeoutMs?: number;
}

function readKeyPair({ certFile, keyFile }: TlsFiles) {
  const pair = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  createSecureContext(pair); // throws on a mismatched or malformed pair, before it is used
  return pair;
}

/** The HTTPS admission server: start() listens, stop() shuts down gracefully. */
export class WebhookServer {
  readonly #options: WebhookServerOptions;
  readonly #logger: Logger;
  #server: Server | undefined;
  #draining = false;
  #stopping: Promise<void> | undefined;
  readonly #inFlight = new Set<ServerResponse>();

  constructor(options: WebhookServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<number> {
    const options = this.#options;
    const app = createApp({
      ...options,
      isReady: () => this.#server?.listening === true && !this.#draining,
    });
    // Slow or stalled clients must not hold connections open: the API server sends whole requests at once.
    const requestTimeout = Math.round(options.requestTimeoutMs ?? 30_000);
    const headersTimeout = requestTimeout > 0 ? Math.min(10_000, requestTimeout) : 10_000;
    const server = createServer(
      {
        ...readKeyPair(options.tls),
        minVersion: 'TLSv1.2',
        // A client that never finishes the TLS handshake is dropped as quickly as one that never sends headers.
        handshakeTimeout: headersTimeout,
        headersTimeout,
        requestTimeout,
        // Node checks these timeouts only every 30 s by default, which let a stalled client stay up to 40 s.
        connectionsCheckingInterval: Math.max(1, Math.min(1000, headersTimeout)),
      },
      app,
    );
    server.keepAliveTimeout = 65_000;
    this.#server = server;
    // While draining, every response asks its client to close the connection, so none reuses one that
    // is about to be closed under it and the next request goes to another replica.
    server.prependListener('request', (_req, res: ServerResponse) => {
      if (this.#draining) {
        res.setHeader('Connection', 'close');
        return;
      }
      this.#inFlight.add(res);
      res.once('close', () => this.#inFlight.delete(res));
    });
    this.#watchTls(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#logger.info({ port: this.port }, 'listening');
    return this.port;
  }

  /** Reloads the certificate without a restart when its files change (a mounted Secret, cert-manager). */
  #watchTls(server: Server): void {
    const { tls, tlsPollIntervalMs = 2000 } = this.#options;
    const reload = () => {
      try {
        server.setSecureContext({ ...readKeyPair(tls), minVersion: 'TLSv1.2' });
        this.#logger.info({ certFile: tls.certFile }, 'TLS certificate reloaded');
      } catch (error) {
        // Files are often replaced one at a time: keep the working pair until both match.
        this.#logger.warn({ err: error, certFile: tls.certFile }, 'TLS certificate not reloaded');
      }
    };
    for (const file of [tls.certFile, tls.keyFile]) watchFile(file, { interval: tlsPollIntervalMs, persistent: false }, reload);
  }

  /**
   * Graceful shutdown, as this project asks of every workload: fail /readyz, keep serving for the
   * delay (the Pod leaves the Service endpoints), stop accepting, close idle keep-alive connections,
   * let in-flight requests finish, and cut what is left at the timeout.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    const { shutdownDelayMs, shutdownTimeoutMs, tls } = this.#options;
    this.#draining = true;
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.#logger.info({ delayMs: shutdownDelayMs }, 'draining: readiness fails, still serving');
    await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
    for (const file of [tls.certFile, tls.keyFile]) unwatchFile(file);

    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => {
      this.#logger.warn('shutdown timeout: closing remaining connections');
      server.closeAllConnections();
    }, shutdownTimeoutMs);
    await closed;
    clearInterval(sweep);
    clearTimeout(deadline);
    this.#logger.info('stopped');
  }
}
