import { JSONParser } from '@streamparser/json';
import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { ClusterInfo } from '../core/types.js';
import * as k8s from './client-node.js';

/**
 * The API calls lifecycle-guard makes, from one kubeconfig. Only the calls used are named, so unit
 * tests can hand in an in-memory API server (test/kube/fake-api.ts).
 */
export interface KubeClients {
  /** The API server's URL, for messages and reports. */
  server: string;
  core: Pick<
    k8s.CoreV1Api,
    | 'readNamespacedSecret'
    | 'createNamespacedSecret'
    | 'replaceNamespacedSecret'
    | 'listNamespacedConfigMap'
    | 'listNamespace'
    | 'createNamespacedEvent'
  >;
  admission: Pick<
    k8s.AdmissionregistrationV1Api,
    | 'readMutatingWebhookConfiguration'
    | 'patchMutatingWebhookConfiguration'
    | 'readValidatingWebhookConfiguration'
    | 'patchValidatingWebhookConfiguration'
  >;
  coordination: Pick<k8s.CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;
  custom: Pick<
    k8s.CustomObjectsApi,
    | 'listClusterCustomObject'
    | 'getNamespacedCustomObject'
    | 'createNamespacedCustomObject'
    | 'replaceNamespacedCustomObject'
    | 'deleteNamespacedCustomObject'
  >;
  /** Lists any kind by apiVersion and kind, object by object as the pages arrive (the background scan and `audit`). */
  objects: Pick<StreamedLists, 'listObjects'>;
  version: Pick<k8s.VersionApi, 'getCode'>;
  /** Streams watch events (the informers of the policy ConfigMap and of namespace labels). */
  watch: k8s.Watch;
}

/** The generic object API's discovery (kind → resource path), which is all the lists need of it. */
class ListPaths extends k8s.KubernetesObjectApi {
  listPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    return this.specUriPath({ apiVersion, kind, metadata: namespace === undefined ? {} : { namespace } }, 'list');
  }
}

/**
 * Lists read as a stream: every object is parsed on its own as its bytes arrive and handed over
 * before the next is read. Through the client's typed API a page was buffered whole (the chunks,
 * their concatenation, the text), parsed, then copied field by field into model classes; a page
 * lived long enough to be promoted to the old generation, so the scan's memory grew with the
 * cluster until a full garbage collection (313 MB peak at 12,000 objects). Authentication, TLS and
 * proxies stay the client's (`applyToHTTPSOptions`), and so does discovery.
 */
class StreamedLists {
  readonly #config: k8s.KubeConfig;
  readonly #paths: ListPaths;

  constructor(config: k8s.KubeConfig) {
    this.#config = config;
    this.#paths = config.makeApiClient(ListPaths);
  }

  /** Every object of a kind, page by page (`limit` and `continue`). */
  async *listObjects(apiVersion: string, kind: string, namespace: string | undefined, pageSize: number): AsyncGenerator<unknown> {
    const path = await this.#paths.listPath(apiVersion, kind, namespace);
    let continueToken: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(pageSize), ...(continueToken === undefined ? {} : { continue: continueToken }) });
      const response = await this.#get(new URL(`${this.#config.getCurrentCluster()?.server ?? ''}${path}?${query}`));
      continueToken = undefined;
      try {
        if (response.statusCode === undefined || response.statusCode < 200 || response.statusCode > 299)
          throw await listError(response, `listing ${apiVersion} ${kind}`);
        const parser = new JSONParser({ paths: ['$.metadata.continue', '$.items.*'], keepStack: false, stringBufferSize: STRING_BUFFER });
        const parsed: unknown[] = [];
        parser.onValue = ({ value, key }) => {
          if (key === 'continue') continueToken = typeof value === 'string' && value !== '' ? value : undefined;
          else parsed.push(value);
        };
        for await (const chunk of response) {
          parser.write(chunk as Buffer);
          // Handed over one by one, each gone from here before the next chunk is read.
          for (let item = parsed.shift(); item !== undefined; item = parsed.shift()) yield item;
        }
        // The parser ends by itself with the document; a response cut short must not pass as a shorter list.
        if (!parser.isEnded) parser.end();
      } finally {
        response.destroy();
      }
    } while (continueToken !== undefined);
  }

  async #get(url: URL): Promise<IncomingMessage> {
    const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
    await this.#config.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, options, resolve).on('error', reject).end();
    });
  }
}

/** Parser buffer for strings: several times faster than building them character by character. */
const STRING_BUFFER = 64 * 1024;

/** The API server's refusal as the client reports it (an ApiException with the status), so `isStatus` works on both. */
async function listError(response: IncomingMessage, what: string): Promise<k8s.ApiException<unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): kept as text.
  }
  const code = response.statusCode ?? 0;
  return new k8s.ApiException(code, `HTTP ${code} ${what}`, body, {});
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
export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
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

export function createClients(config: k8s.KubeConfig): KubeClients {
  return {
    server: config.getCurrentCluster()?.server ?? '',
    core: config.makeApiClient(k8s.CoreV1Api),
    admission: config.makeApiClient(k8s.AdmissionregistrationV1Api),
    coordination: config.makeApiClient(k8s.CoordinationV1Api),
    custom: config.makeApiClient(k8s.CustomObjectsApi),
    objects: new StreamedLists(config),
    version: config.makeApiClient(k8s.VersionApi),
    watch: new k8s.Watch(config),
  };
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof k8s.ApiException && error.code === code;
}

/** The API server's version, which picks the preStop action (`auto`). */
export async function readClusterInfo(clients: KubeClients): Promise<ClusterInfo> {
  const info = await clients.version.getCode();
  const major = Number.parseInt(info.major, 10);
  const minor = Number.parseInt(info.minor, 10); // "34+" on some providers
  return Number.isFinite(major) && Number.isFinite(minor) ? { version: { major, minor } } : {};
}
