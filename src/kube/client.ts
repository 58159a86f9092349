import { JSONParser } from '@streamparser/json';
import type {
  CoreV1Event,
  V1ConfigMap,
  V1Lease,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Secret,
  V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { ClusterInfo } from '../core/types.js';
import { ApiError, ApiServer, type WatchStream } from './api-server.js';
import type { ObjectList } from './informer.js';
import type { ApiServerAccess } from './kubeconfig.js';

export { ApiError, isStatus } from './api-server.js';

type InNamespace = { namespace: string };
type Named = { name: string };
type CustomResource = { group: string; version: string; plural: string };
/** A JSON Patch (RFC 6902), which the patch calls send. */
type JsonPatch = object[];

/**
 * The API calls lifecycle-guard makes. Objects are the API server's JSON: client-node's model types
 * describe them (except that times arrive as strings). Only the calls used are named, so unit tests
 * can hand in an in-memory API server (test/kube/fake-api.ts).
 */
export interface KubeClients {
  /** The API server's URL, for messages and reports. */
  server: string;
  core: {
    readNamespacedSecret(request: Named & InNamespace): Promise<V1Secret>;
    createNamespacedSecret(request: InNamespace & { body: V1Secret }): Promise<V1Secret>;
    replaceNamespacedSecret(request: Named & InNamespace & { body: V1Secret }): Promise<V1Secret>;
    listNamespacedConfigMap(request: InNamespace & { fieldSelector?: string }): Promise<ObjectList<V1ConfigMap>>;
    listNamespace(request?: { limit?: number; continue?: string }): Promise<ObjectList<V1Namespace>>;
    createNamespacedEvent(request: InNamespace & { body: CoreV1Event }): Promise<CoreV1Event>;
  };
  admission: {
    readMutatingWebhookConfiguration(request: Named): Promise<V1MutatingWebhookConfiguration>;
    patchMutatingWebhookConfiguration(request: Named & { body: JsonPatch }): Promise<V1MutatingWebhookConfiguration>;
    readValidatingWebhookConfiguration(request: Named): Promise<V1ValidatingWebhookConfiguration>;
    patchValidatingWebhookConfiguration(request: Named & { body: JsonPatch }): Promise<V1ValidatingWebhookConfiguration>;
  };
  coordination: {
    readNamespacedLease(request: Named & InNamespace): Promise<V1Lease>;
    createNamespacedLease(request: InNamespace & { body: V1Lease }): Promise<V1Lease>;
    replaceNamespacedLease(request: Named & InNamespace & { body: V1Lease }): Promise<V1Lease>;
  };
  custom: {
    listClusterCustomObject(request: CustomResource & { labelSelector?: string }): Promise<unknown>;
    getNamespacedCustomObject(request: CustomResource & Named & InNamespace): Promise<unknown>;
    createNamespacedCustomObject(request: CustomResource & InNamespace & { body: object }): Promise<unknown>;
    replaceNamespacedCustomObject(request: CustomResource & Named & InNamespace & { body: object }): Promise<unknown>;
    deleteNamespacedCustomObject(request: CustomResource & Named & InNamespace): Promise<unknown>;
  };
  /** Lists any kind by apiVersion and kind, object by object as the pages arrive (the background scan and `audit`). */
  objects: Pick<StreamedLists, 'listObjects'>;
  version: { getCode(): Promise<{ major: string; minor: string }> };
  /** Streams watch events (the informers of the policy ConfigMap and of namespace labels). */
  watch: WatchStream;
}

/** An APIResourceList's entries, as discovery answers. */
interface DiscoveredResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Where an apiVersion's resources are served: /api/v1 for the core group, /apis/GROUP/VERSION for the others. */
const apiRoot = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

/**
 * Lists read as a stream: every object is parsed on its own as its bytes arrive and handed over
 * before the next is read. A page read whole and parsed at once lived long enough to be promoted to
 * the old generation, so the scan's memory grew with the cluster until a full garbage collection
 * (313 MB peak at 12,000 objects, through client-node's typed API). Discovery (kind → resource) is
 * asked once per apiVersion.
 */
class StreamedLists {
  readonly #api: ApiServer;
  readonly #discovered = new Map<string, Promise<DiscoveredResource[]>>();

  constructor(api: ApiServer) {
    this.#api = api;
  }

  async #listPath(apiVersion: string, kind: string, namespace: string | undefined): Promise<string> {
    let discovery = this.#discovered.get(apiVersion);
    if (discovery === undefined) {
      discovery = this.#api
        .request<{ resources?: DiscoveredResource[] }>('GET', apiRoot(apiVersion))
        .then(({ resources }) => resources ?? []);
      // A failed discovery (an API not installed yet) is asked again next time.
      discovery.catch(() => this.#discovered.delete(apiVersion));
      this.#discovered.set(apiVersion, discovery);
    }
    const resource = (await discovery).find((candidate) => candidate.kind === kind && !candidate.name.includes('/'));
    if (resource === undefined) throw new ApiError(404, `${apiVersion} serves no kind ${kind}`, undefined);
    return `${apiRoot(apiVersion)}${resource.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${resource.name}`;
  }

  /** Every object of a kind, page by page (`limit` and `continue`). */
  async *listObjects(apiVersion: string, kind: string, namespace: string | undefined, pageSize: number): AsyncGenerator<unknown> {
    const path = await this.#listPath(apiVersion, kind, namespace);
    let continueToken: string | undefined;
    do {
      const { response } = await this.#api.open('GET', path, {
        query: { limit: pageSize, continue: continueToken },
        what: `listing ${apiVersion} ${kind}`,
      });
      continueToken = undefined;
      try {
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
}

/** Parser buffer for strings: several times faster than building them character by character. */
const STRING_BUFFER = 64 * 1024;

const JSON_PATCH = 'application/json-patch+json';

export function createClients(access: ApiServerAccess): KubeClients {
  const api = new ApiServer(access);
  const namespaced = (root: string, plural: string, namespace: string, name?: string) =>
    `${root}/namespaces/${encodeURIComponent(namespace)}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  const cluster = (root: string, plural: string, name?: string) =>
    `${root}/${plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
  const custom = ({ group, version, plural }: CustomResource, namespace: string, name?: string) =>
    namespaced(`/apis/${group}/${version}`, plural, namespace, name);
  const webhooks = '/apis/admissionregistration.k8s.io/v1';
  const leases = '/apis/coordination.k8s.io/v1';
  return {
    server: api.server,
    core: {
      readNamespacedSecret: ({ name, namespace }) => api.request('GET', namespaced('/api/v1', 'secrets', namespace, name)),
      createNamespacedSecret: ({ namespace, body }) => api.request('POST', namespaced('/api/v1', 'secrets', namespace), { body }),
      replaceNamespacedSecret: ({ name, namespace, body }) =>
        api.request('PUT', namespaced('/api/v1', 'secrets', namespace, name), { body }),
      listNamespacedConfigMap: ({ namespace, fieldSelector }) =>
        api.request('GET', namespaced('/api/v1', 'configmaps', namespace), { query: { fieldSelector } }),
      listNamespace: (request = {}) => api.request('GET', '/api/v1/namespaces', { query: request }),
      createNamespacedEvent: ({ namespace, body }) => api.request('POST', namespaced('/api/v1', 'events', namespace), { body }),
    },
    admission: {
      readMutatingWebhookConfiguration: ({ name }) => api.request('GET', cluster(webhooks, 'mutatingwebhookconfigurations', name)),
      patchMutatingWebhookConfiguration: ({ name, body }) =>
        api.request('PATCH', cluster(webhooks, 'mutatingwebhookconfigurations', name), { body, contentType: JSON_PATCH }),
      readValidatingWebhookConfiguration: ({ name }) => api.request('GET', cluster(webhooks, 'validatingwebhookconfigurations', name)),
      patchValidatingWebhookConfiguration: ({ name, body }) =>
        api.request('PATCH', cluster(webhooks, 'validatingwebhookconfigurations', name), { body, contentType: JSON_PATCH }),
    },
    coordination: {
      readNamespacedLease: ({ name, namespace }) => api.request('GET', namespaced(leases, 'leases', namespace, name)),
      createNamespacedLease: ({ namespace, body }) => api.request('POST', namespaced(leases, 'leases', namespace), { body }),
      replaceNamespacedLease: ({ name, namespace, body }) => api.request('PUT', namespaced(leases, 'leases', namespace, name), { body }),
    },
    custom: {
      listClusterCustomObject: ({ labelSelector, ...resource }) =>
        api.request('GET', cluster(`/apis/${resource.group}/${resource.version}`, resource.plural), { query: { labelSelector } }),
      getNamespacedCustomObject: ({ name, namespace, ...resource }) => api.request('GET', custom(resource, namespace, name)),
      createNamespacedCustomObject: ({ namespace, body, ...resource }) => api.request('POST', custom(resource, namespace), { body }),
      replaceNamespacedCustomObject: ({ name, namespace, body, ...resource }) =>
        api.request('PUT', custom(resource, namespace, name), { body }),
      deleteNamespacedCustomObject: ({ name, namespace, ...resource }) => api.request('DELETE', custom(resource, namespace, name)),
    },
    objects: new StreamedLists(api),
    version: { getCode: () => api.request('GET', '/version') },
    watch: api,
  };
}

/** The API server's version, which picks the preStop action (`auto`). */
export async function readClusterInfo(clients: KubeClients): Promise<ClusterInfo> {
  const info = await clients.version.getCode();
  const major = Number.parseInt(info.major, 10);
  const minor = Number.parseInt(info.minor, 10); // "34+" on some providers
  return Number.isFinite(major) && Number.isFinite(minor) ? { version: { major, minor } } : {};
}
