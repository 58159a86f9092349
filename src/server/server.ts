import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { createApp, createMetricsApp, type AppDeps } from './app.js';

// Not `import … from 'node:http'`: Node 24 builds that module's ESM facade by reading every export,
// and its WebSocket getter then loads undici, ~2.5 MB of an idle replica's RSS that nothing here uses.
const { createServer: createHttpServer } = process.getBuiltinModule('node:http');

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * TLS 1.2 only with forward-secret AEAD suites (Node's default list also offers CBC with SHA-1, CCM8
 * and ARIA); every TLS 1.3 suite is AEAD. The API server's Go client supports all of these.
 */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/**
 * Connections beyond this are refused at accept. Each idle TLS connection holds about 50 KB; the API
 * servers keep a few pooled connections per replica, and kubelet probes open one at a time.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;

export interface WebhookServerOptions extends Omit<AppDeps, 'isReady'> {
  port: number;
  host?: string;
  tls: TlsFiles;
  /** Lowest TLS version accepted (default TLSv1.2, with TLS_CIPHERS). */
  tlsMinVersion?: TlsMinVersion;
  /** Open connections the HTTPS server accepts at once (default DEFAULT_MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Plain-HTTP port for /metrics and the extra routes (/reports); without it they are not served. */
  metricsPort?: number;
  /** How long /readyz fails while requests are still served, before the listener closes. */
  shutdownDelayMs: number;
  /** After this, connections still open are cut (the Pod's grace period must be longer). */
  shutdownTimeoutMs: number;
  /** How often the certificate files are checked for changes. */
  tlsPollIntervalMs?: number;
  /** A request must have arrived in full within this (default 30 s), its headers within 10 s (or this, if shorter). */
  requestTimeoutMs?: number;
}

/** A port the server could not listen on: the webhook's, or (once that one listens) the metrics port. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly listener: 'webhook' | 'metrics',
    readonly port: number,
    override readonly cause: NodeJS.ErrnoException,
  ) {
    super(`cannot listen on the ${listener} port ${port}: ${cause.message}`);
  }

  get code(): string | undefined {
    return this.cause.code;
  }
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
  #metricsServer: HttpServer | undefined;
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

  get metricsPort(): number {
    return (this.#metricsServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  #tlsSettings() {
    return { minVersion: this.#options.tlsMinVersion ?? 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true } as const;
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
    // One listener for every request: each extra 'request' listener cost every admission request an emit.
    const server: Server = createServer(
      {
        ...readKeyPair(options.tls),
        ...this.#tlsSettings(),
        // A client that never finishes the TLS handshake is dropped as quickly as one that never sends headers.
        handshakeTimeout: headersTimeout,
        headersTimeout,
        requestTimeout,
        // Node checks these timeouts only every 30 s by default, which let a stalled client stay up to 40 s.
        connectionsCheckingInterval: Math.max(1, Math.min(1000, headersTimeout)),
      },
      (req, res) => {
        req.socket.setTimeout(0);
        // While draining, every response asks its client to close the connection, so none reuses one that
        // is about to be closed under it and the next request goes to another replica.
        if (this.#draining) res.setHeader('Connection', 'close');
        else {
          this.#inFlight.add(res);
          res.once('close', () => this.#inFlight.delete(res));
        }
        app(req, res);
      },
    );
    server.keepAliveTimeout = 65_000;
    server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    // headersTimeout starts with a request's first byte: a client that completes the handshake and
    // sends nothing would hold its connection (and a slot of maxConnections) forever. Once a request
    // arrives (the handler above), the request timeouts and keep-alive idleness take over, however
    // long it takes to decide.
    server.on('secureConnection', (socket) => socket.setTimeout(headersTimeout));
    this.#server = server;
    try {
      await listen(server, options.port, options.host);
    } catch (error) {
      throw new ListenError('webhook', options.port, error as NodeJS.ErrnoException);
    }
    this.#watchTls(server);
    if (options.metricsPort !== undefined) {
      // Its own port, so a NetworkPolicy can open the webhook port to the API server and this one to monitoring only.
      const metricsServer = createHttpServer(
        { headersTimeout, requestTimeout, connectionsCheckingInterval: 1000 },
        createMetricsApp(options),
      );
      metricsServer.maxConnections = 64;
      try {
        await listen(metricsServer, options.metricsPort, options.host);
      } catch (error) {
        // Nothing may stay open: the caller reports the error, and a listening webhook port would keep the process alive.
        this.#unwatchTls();
        await new Promise((resolve) => server.close(resolve));
        throw new ListenError('metrics', options.metricsPort, error as NodeJS.ErrnoException);
      }
      this.#metricsServer = metricsServer;
    }
    this.#logger.info({ port: this.port, ...(this.#metricsServer ? { metricsPort: this.metricsPort } : {}) }, 'listening');
    return this.port;
  }

  /** Reloads the certificate without a restart when its files change (a mounted Secret, cert-manager). */
  #watchTls(server: Server): void {
    const { tls, tlsPollIntervalMs = 2000 } = this.#options;
    const reload = () => {
      try {
        server.setSecureContext({ ...readKeyPair(tls), ...this.#tlsSettings() });
        this.#logger.info({ certFile: tls.certFile }, 'TLS certificate reloaded');
      } catch (error) {
        // Files are often replaced one at a time: keep the working pair until both match.
        this.#logger.warn({ err: error, certFile: tls.certFile }, 'TLS certificate not reloaded');
      }
    };
    for (const file of [tls.certFile, tls.keyFile]) watchFile(file, { interval: tlsPollIntervalMs, persistent: false }, reload);
  }

  #unwatchTls(): void {
    const { tls } = this.#options;
    for (const file of [tls.certFile, tls.keyFile]) unwatchFile(file);
  }

  /**
   * Graceful shutdown, as this project asks of every workload: fail /readyz, keep serving for the
   * delay (the Pod leaves the Service endpoints), stop accepting, close idle keep-alive connections,
   * let in-flight requests finish, and cut what is left at the timeout.
   */
  stop(options: { delay?: boolean } = {}): Promise<void> {
    this.#stopping ??= this.#shutdown(options.delay ?? true);
    return this.#stopping;
  }

  /** `delay: false` skips the endpoint-removal delay (a local Ctrl-C: no Service routes to this process). */
  async #shutdown(delay: boolean): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    const { shutdownTimeoutMs } = this.#options;
    const shutdownDelayMs = delay ? this.#options.shutdownDelayMs : 0;
    this.#draining = true;
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.#logger.info({ delayMs: shutdownDelayMs }, 'draining: readiness fails, still serving');
    await new Promise((resolve) => setTimeout(resolve, shutdownDelayMs));
    this.#unwatchTls();

    const metricsServer = this.#metricsServer;
    if (metricsServer !== undefined) {
      metricsServer.close();
      metricsServer.closeAllConnections();
    }
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

function listen(server: HttpServer | Server, port: number, host = '0.0.0.0'): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
