import {
  AdmissionregistrationV1Api,
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  VersionApi,
} from '@kubernetes/client-node';
import type { ClusterInfo } from '../rules/index.js';

/** The API clients lifecycle-guard uses, from one kubeconfig. */
export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  admission: AdmissionregistrationV1Api;
  coordination: CoordinationV1Api;
  custom: CustomObjectsApi;
  version: VersionApi;
}

/** A kubeconfig file when given, else the in-cluster service account, else the default kubeconfig. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath !== undefined) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}

export function createClients(config: KubeConfig): KubeClients {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    admission: config.makeApiClient(AdmissionregistrationV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    version: config.makeApiClient(VersionApi),
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
