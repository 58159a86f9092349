import type { Logger } from 'pino';
import { withExcludedNamespace, type Policy } from '../engine/policy.js';
import { createClients, loadKubeConfig, readClusterInfo, type KubeClients } from '../kube/client.js';
import { hostname } from 'node:os';
import { BackgroundScanner } from '../kube/background-scan.js';
import { LeaderLease } from '../kube/lease.js';
import { PolicyConfigMapWatcher } from '../kube/policy-configmap.js';
import { TlsBootstrap } from '../kube/tls-bootstrap.js';
import type { ClusterInfo } from '../core/types.js';
import { ensureLocalCertificates } from '../tls/certificates.js';
import { createLogger } from '../server/logger.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { PolicyHolder } from '../server/policy-holder.js';
import { WebhookServer, type TlsFiles } from '../server/server.js';
import { InputError } from './manifests.js';
import { loadPolicyFile } from './policy-file.js';

export interface ServeOptions {
  port: number;
  host: string;
  tlsCert?: string;
  tlsKey?: string;
  certDir: string;
  policy?: string;
  policyConfigmap?: { namespace: string; name: string };
  kubeconfig?: string;
  namespace: string;
  tlsSecret?: string;
  serviceName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  certValidity: number;
  certExtraHosts?: string[];
  shutdownDelay: number;
  shutdownTimeout: number;
  /** Seconds a request may take to arrive (headers: 10 s at most); hidden option, for tests. */
  requestTimeout?: number;
  logLevel: string;
}

/** What runs beside the server and stops with it. */
interface Background {
  stop(): void | Promise<void>;
}

async function startPolicy(
  options: ServeOptions,
  clients: KubeClients | undefined,
  holder: PolicyHolder,
  logger: Logger,
): Promise<Background[]> {
  if (options.policyConfigmap === undefined || clients === undefined) return [];
  const own = (policy: Policy) => withExcludedNamespace(policy, options.namespace);
  const watcher = new PolicyConfigMapWatcher(clients, {
    ...options.policyConfigmap,
    logger,
    onPolicy: (policy) => holder.replace(own(policy)),
    onInvalid: () => holder.refuse(),
  });
  await watcher.start();
  return [watcher];
}

async function startTls(
  options: ServeOptions,
  clients: KubeClients | undefined,
  logger: Logger,
): Promise<{ files: TlsFiles; background: Background[] }> {
  if (options.tlsCert !== undefined && options.tlsKey !== undefined) {
    return { files: { certFile: options.tlsCert, keyFile: options.tlsKey }, background: [] };
  }
  if (options.tlsSecret !== undefined && clients !== undefined) {
    const bootstrap = new TlsBootstrap(clients, {
      namespace: options.namespace,
      secretName: options.tlsSecret,
      serviceName: options.serviceName,
      mutatingWebhook: options.mutatingWebhook,
      validatingWebhook: options.validatingWebhook,
      certDir: options.certDir,
      validityMs: options.certValidity,
      extraHosts: options.certExtraHosts ?? [],
      logger,
    });
    await bootstrap.reconcile();
    // Often enough to renew in time and to pick up a Secret that another replica renewed.
    const interval = setInterval(
      () => void bootstrap.reconcile().catch((error: unknown) => logger.error({ err: error }, 'TLS reconcile failed')),
      Math.min(Math.max(options.certValidity / 20, 1000), 300_000),
    );
    return { files: bootstrap.files, background: [{ stop: () => clearInterval(interval) }] };
  }
  const files = await ensureLocalCertificates(options.certDir, ['localhost', '127.0.0.1', '::1']);
  logger.info({ certFile: files.certFile, caFile: files.caFile, generated: files.generated }, 'using local self-signed certificate');
  return { files, background: [] };
}

function startScanner(
  options: ServeOptions,
  clients: KubeClients,
  holder: PolicyHolder,
  cluster: ClusterInfo,
  logger: Logger,
): BackgroundScanner {
  const lease = new LeaderLease(clients, {
    namespace: options.namespace,
    name: 'lifecycle-guard-reports',
    identity: process.env.POD_NAME ?? hostname(),
    durationSeconds: 60,
    logger,
  });
  return new BackgroundScanner(clients, { policy: () => holder.current, cluster, lease, logger });
}

async function clusterInfo(clients: KubeClients | undefined, logger: Logger): Promise<ClusterInfo> {
  if (clients === undefined) return {};
  try {
    return await readClusterInfo(clients);
  } catch (error) {
    logger.warn({ err: error }, 'cluster version unknown; preStop action `auto` uses the sleep action');
    return {};
  }
}

/** Composes policy, TLS, cluster access and the server; runs until SIGTERM or SIGINT, then shuts down gracefully. */
export async function runServe(options: ServeOptions, metrics: Metrics = createMetrics()): Promise<WebhookServer> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new InputError('--tls-cert and --tls-key go together');
  if (options.policy !== undefined && options.policyConfigmap !== undefined)
    throw new InputError('--policy and --policy-configmap exclude each other');
  const logger = createLogger(options.logLevel);
  const needsCluster = options.policyConfigmap !== undefined || (options.tlsSecret !== undefined && options.tlsCert === undefined);
  const clients = needsCluster || options.kubeconfig !== undefined ? createClients(loadKubeConfig(options.kubeconfig)) : undefined;

  const holder = new PolicyHolder(withExcludedNamespace(loadPolicyFile(options.policy), options.namespace), metrics);
  const cluster = await clusterInfo(clients, logger);
  const background = await startPolicy(options, clients, holder, logger);
  const tls = await startTls(options, clients, logger);
  background.push(...tls.background);

  const scanner = clients === undefined ? undefined : startScanner(options, clients, holder, cluster, logger);
  const server = new WebhookServer({
    port: options.port,
    host: options.host,
    tls: tls.files,
    policy: holder,
    metrics,
    logger,
    cluster: () => cluster,
    routes: {
      '/reports': () =>
        scanner?.latest ?? {
          status: scanner === undefined ? 'the background scan needs cluster access (--kubeconfig or in-cluster)' : 'no scan finished yet',
        },
    },
    shutdownDelayMs: options.shutdownDelay * 1000,
    shutdownTimeoutMs: options.shutdownTimeout * 1000,
    ...(options.requestTimeout === undefined ? {} : { requestTimeoutMs: options.requestTimeout * 1000 }),
  });
  await server.start();
  if (scanner !== undefined) {
    scanner.start();
    holder.onReplace(() => scanner.trigger());
    background.push(scanner);
  }
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    // The server starts draining at once (readiness fails now); watches and scans stop beside it.
    Promise.all([server.stop(), ...background.map((task) => task.stop())]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return server;
}
