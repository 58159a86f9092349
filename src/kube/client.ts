import {
  AdmissionregistrationV1Api,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterInfo } from '../core/types.js';

/**
 * The API calls lifecycle-guard makes, from one kubeconfig. Only the calls used are named, so unit
 * tests can hand in an in-memory API server (test/kube/fake-api.ts).
 */
export interface KubeClients {
  /** The API server's URL, for messages and reports. */
  server: string;
  core: Pick<
    CoreV1Api,
    | 'readNamespacedSecret'
    | 'createNamespacedSecret'
    | 'replaceNamespacedSecret'
    | 'listNamespacedConfigMap'
    | 'listNamespace'
    | 'createNamespacedEvent'
  >;
  admission: Pick<
    AdmissionregistrationV1Api,
    | 'readMutatingWebhookConfiguration'
    | 'patchMutatingWebhookConfiguration'
    | 'readValidatingWebhookConfiguration'
    | 'patchValidatingWebhookConfiguration'
  >;
  coordination: Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  custom: Pick<
    CustomObjectsApi,
    | 'listClusterCustomObject'
    | 'getNamespacedCustomObject'
    | 'createNamespacedCustomObject'
    | 'replaceNamespacedCustomObject'
    | 'deleteNamespacedCustomObject'
  >;
  /** Lists any kind by apiVersion and kind (the background scan). */
  objects: Pick<KubernetesObjectApi, 'list'>;
  version: Pick<VersionApi, 'getCode'>;
  /** Streams watch events (the informers of the policy ConfigMap and of namespace labels). */
  watch: Watch;
}

/** No kubeconfig anywhere: said instead of letting the client fall back to http://localhost:8080. */
export class NoKubeConfigError extends Error {
  override name = 'NoKubeConfigError';
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** The places kubectl and client-node look, in their order, and what each held. */
function kubeConfigSearch(): { found: boolean; looked: string[] } {
  const home = process.env.HOME ? join(process.env.HOME, '.kube', 'config') : undefined;
  const looked = [
    `$KUBECONFIG (${process.env.KUBECONFIG ? process.env.KUBECONFIG : 'not set'})`,
    home === undefined ? '~/.kube/config ($HOME not set)' : `~/.kube/config (${home}: ${existsSync(home) ? 'found' : 'missing'})`,
    `the in-cluster service account (${SERVICE_ACCOUNT_TOKEN}: ${existsSync(SERVICE_ACCOUNT_TOKEN) ? 'found' : 'missing'})`,
  ];
  const found = Boolean(process.env.KUBECONFIG) || (home !== undefined && existsSync(home)) || existsSync(SERVICE_ACCOUNT_TOKEN);
  return { found, looked };
}

/** A kubeconfig file when given, else $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath !== undefined) {
    config.loadFromFile(kubeconfigPath);
    return config;
  }
  const search = kubeConfigSearch();
  if (!search.found)
    throw new NoKubeConfigError(`no kubeconfig found: looked at ${search.looked.join(', ')}; pass --kubeconfig FILE or set KUBECONFIG`);
  config.loadFromDefault();
  return config;
}

export function createClients(config: KubeConfig): KubeClients {
  return {
    server: config.getCurrentCluster()?.server ?? '',
    core: config.makeApiClient(CoreV1Api),
    admission: config.makeApiClient(AdmissionregistrationV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(config),
    version: config.makeApiClient(VersionApi),
    watch: new Watch(config),
  };
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** The API server's version, which picks the preStop action (`auto`). */
export async function readClusterInfo(clients: KubeClients): Promise<ClusterInfo> {
  const info = await clients.version.getCode();
  const major = Number.parseInt(info.major, 10);
  const minor = Number.parseInt(info.minor, 10); // "34+" on some providers
  return Number.isFinite(major) && Number.isFinite(minor) ? { version: { major, minor } } : {};
}
