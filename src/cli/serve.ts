import type { Logger } from 'pino';
import { DEFAULT_POLICY, withExcludedNamespace, type Policy } from '../engine/policy.js';
import type { KubeClients } from '../kube/client.js';
import { hostname } from 'node:os';
import type { BackgroundScanner } from '../kube/background-scan.js';
import type { ClusterInfo } from '../core/types.js';
import { createRegistryMetrics } from '../images/metrics.js';
import { createLogger } from '../server/logger.js';
import { createMetrics, type Metrics } from '../server/metrics.js';
import { PolicyHolder } from '../server/policy-holder.js';
import { ListenError, WebhookServer, type TlsFiles } from '../server/server.js';
import { createImageLookup, createInspector, scanImageLookup, type ImageLookupDeps } from './images.js';
import { InputError } from './input-error.js';
import { releaseMemory } from './release-memory.js';

export interface ServeOptions {
  port: number;
  host: string;
  metricsPort: number;
  tlsMinVersion: '1.2' | '1.3';
  maxConnections: number;
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
  /** No admission routes and no webhook registration: the background scan and its reports only. */
  scanOnly?: boolean;
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
  const { PolicyConfigMapWatcher } = await import('../kube/policy-configmap.js');
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
    const { TlsBootstrap } = await import('../kube/tls-bootstrap.js');
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
  const { ensureLocalCertificates, LOCAL_HOSTS } = await import('../tls/certificates.js');
  const files = await ensureLocalCertificates(options.certDir, LOCAL_HOSTS);
  logger.info({ certFile: files.certFile, caFile: files.caFile, generated: files.generated }, 'using local self-signed certificate');
  return { files, background: [] };
}

async function startScanner(
  options: ServeOptions,
  clients: KubeClients,
  holder: PolicyHolder,
  cluster: ClusterInfo,
  images: ImageLookupDeps & { logger: Logger },
): Promise<BackgroundScanner> {
  const { logger } = images;
  const [{ BackgroundScanner }, { LeaderLease }] = await Promise.all([import('../kube/background-scan.js'), import('../kube/lease.js')]);
  const lease = new LeaderLease(clients, {
    namespace: options.namespace,
    name: 'lifecycle-guard-reports',
    identity: process.env.POD_NAME ?? hostname(),
    durationSeconds: 60,
    logger,
  });
  const policy = () => holder.current;
  return new BackgroundScanner(clients, {
    policy,
    cluster,
    lease,
    logger,
    inspectImages: scanImageLookup(images, policy),
    afterScan: () => void releaseMemory(),
  });
}

async function clusterInfo(clients: KubeClients | undefined, logger: Logger): Promise<ClusterInfo> {
  if (clients === undefined) return {};
  try {
    const { readClusterInfo } = await import('../kube/client.js');
    return await readClusterInfo(clients);
  } catch (error) {
    logger.warn({ err: error }, 'cluster version unknown; preStop action `auto` uses the sleep action');
    return {};
  }
}

/** Exit code when a second signal cuts the graceful shutdown short. */
const EXIT_FORCED = 2;

/**
 * Listens; an address in use or not allowed is bad input, said in one line that names the port that
 * failed: the webhook's (--port) or, once that one listens, the metrics port (--metrics-port).
 */
async function listen(server: WebhookServer, options: ServeOptions): Promise<void> {
  try {
    await server.start();
  } catch (error) {
    if (!(error instanceof ListenError)) throw error;
    const { code } = error;
    const flag = error.listener === 'metrics' ? '--metrics-port' : '--port';
    const address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${error.port}`;
    if (code === 'EADDRINUSE')
      throw new InputError(`cannot listen on ${address}: the port is already in use (choose another with ${flag})`);
    if (code === 'EACCES')
      throw new InputError(
        `cannot listen on ${address}: permission denied (ports below 1024 need privileges; choose another with ${flag})`,
      );
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new InputError(`cannot listen on ${address}: no such address on this machine (--host)`);
    throw error.cause;
  }
}

/** Composes policy, TLS, cluster access and the server; runs until SIGTERM or SIGINT, then shuts down gracefully. */
export async function runServe(options: ServeOptions, metrics: Metrics = createMetrics()): Promise<WebhookServer> {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new InputError('--tls-cert and --tls-key go together');
  if (options.policy !== undefined && options.policyConfigmap !== undefined)
    throw new InputError('--policy and --policy-configmap exclude each other');
  // Scan-only serves health, metrics and /reports beside admission policies the API server enforces:
  // there is no webhook whose certificate or caBundle would need managing.
  if (options.scanOnly && options.tlsSecret !== undefined)
    throw new InputError('--tls-secret manages the webhook certificate; --scan-only has no webhook (drop --tls-secret)');
  const logger = createLogger(options.logLevel);
  const needsCluster =
    options.scanOnly === true ||
    options.policyConfigmap !== undefined ||
    (options.tlsSecret !== undefined && options.tlsCert === undefined);
  // The cluster's modules (API client, watchers, scanner) are loaded only when serve talks to a cluster.
  const kube = needsCluster || options.kubeconfig !== undefined ? await import('./kube-access.js') : undefined;
  const clients = kube?.kubeClients(options.kubeconfig, ' (--scan-only, --policy-configmap and --tls-secret need cluster access)');

  // The YAML parser is loaded only for a policy file (a ConfigMap's policy loads it in its watcher).
  const policy = options.policy === undefined ? DEFAULT_POLICY : (await import('./policy-file.js')).loadPolicyFile(options.policy);
  const holder = new PolicyHolder(withExcludedNamespace(policy, options.namespace), metrics);
  const cluster = await clusterInfo(clients, logger);
  const background = await startPolicy(options, clients, holder, logger);
  const tls = await startTls(options, clients, logger);
  background.push(...tls.background);

  const images: ImageLookupDeps & { logger: Logger } = {
    inspector: createInspector(createRegistryMetrics(metrics.registry)),
    logger,
    ...(clients === undefined ? {} : { clients }),
  };
  const scanner = clients === undefined ? undefined : await startScanner(options, clients, holder, cluster, images);
  const namespaces =
    clients === undefined ? undefined : new (await import('../kube/namespace-labels.js')).NamespaceLabelWatcher(clients, logger);
  if (namespaces !== undefined) {
    namespaces.start();
    background.push(namespaces);
  }
  const server = new WebhookServer({
    port: options.port,
    host: options.host,
    metricsPort: options.metricsPort,
    tlsMinVersion: `TLSv${options.tlsMinVersion}`,
    maxConnections: options.maxConnections,
    tls: tls.files,
    policy: holder,
    metrics,
    logger,
    cluster: () => cluster,
    admission: !options.scanOnly,
    ...(namespaces === undefined ? {} : { namespaces }),
    lookUpImages: createImageLookup(images),
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
  try {
    await listen(server, options);
  } catch (error) {
    await Promise.all(background.map(async (task) => task.stop()));
    throw error;
  }
  if (scanner !== undefined) {
    scanner.start();
    holder.onReplace(() => scanner.trigger());
    background.push(scanner);
  }
  if (clients !== undefined) {
    // The API server applies the webhooks' namespaceSelector before the policy: say when they disagree.
    const webhooks = { mutating: options.mutatingWebhook, validating: options.validatingWebhook };
    const { warnOnSelectorMismatch } = await import('../kube/namespace-selector.js');
    const compare = (policy: Policy) => void warnOnSelectorMismatch(clients, webhooks, policy.exclude.namespaces, logger);
    compare(holder.current);
    holder.onReplace(compare);
  }
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping now');
      process.exit(EXIT_FORCED);
    }
    stopping = true;
    // SIGTERM comes from the kubelet: keep serving through the delay while the endpoints are removed.
    // SIGINT is Ctrl-C in a terminal, where no Service routes here: skip the delay.
    const delay = signal === 'SIGTERM';
    logger.info({ signal, delay }, 'shutting down');
    // The server starts draining at once (readiness fails now); watches and scans stop beside it.
    Promise.all([server.stop({ delay }), ...background.map((task) => task.stop())]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  if (!(await releaseMemory())) logger.debug('start-up memory not released: this Node has no inspector');
  return server;
}
