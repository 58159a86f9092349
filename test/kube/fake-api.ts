// An in-memory API server behind the KubeClients interface: the calls src/kube makes, with the
// semantics that matter for concurrency (resourceVersion, 409 on a stale write or an existing name,
// 404, 422 on a failed JSON patch test, list pagination, watch events from a resourceVersion, 410 Gone
// after compaction). Faults and interleavings are injected with `onCall`.
import type { CoreV1Event, KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { ApiError, type Query } from '../../src/kube/api-server.js';
import type { KubeClients } from '../../src/kube/client.js';
import type { ObjectList } from '../../src/kube/informer.js';

// Stored objects are plain JSON-like records; the typed client methods return them as their own types.
type Stored = KubernetesObject & Record<string, any>;

export type Verb = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete' | 'watch';

export interface Call {
  verb: Verb;
  /** Lower-case plural, with the group for custom resources: `secrets`, `leases`, `policyreports.wgpolicyk8s.io`. */
  resource: string;
  namespace: string;
  name: string;
  /** What a create, replace or patch sends. */
  body?: unknown;
}

/** Runs before a call takes effect: throw (e.g. `apiError(409)`) to fail it, await to hold it back. */
export type CallHook = (call: Call) => void | Promise<void>;

/** Polls until `condition` holds; fails with `what` after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function apiError(code: number, message = `HTTP ${code}`): ApiError {
  return new ApiError(code, message, { kind: 'Status', code, message });
}

interface OpenWatch {
  resource: string;
  namespace: string;
  name: string | undefined;
  callback: (phase: string, object: unknown) => void;
  done: (error: unknown) => void;
  ended: boolean;
}

interface Change {
  resourceVersion: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  object: Stored;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;
const copy = <T>(value: T): T => structuredClone(value);

export class FakeApiServer {
  readonly calls: Call[] = [];
  #resourceVersion = 0;
  /** resource → namespace/name → object */
  readonly #store = new Map<string, Map<string, Stored>>();
  #changes: Change[] = [];
  /** Watches from a resourceVersion at or below this one are answered with 410 Gone. */
  #compactedAt = 0;
  readonly #watches = new Set<OpenWatch>();
  readonly #hooks: CallHook[] = [];
  #generated = 0;

  onCall(hook: CallHook): void {
    this.#hooks.push(hook);
  }

  /** Stores an object as the cluster's own state (no hooks, no call recorded); returns the stored copy. */
  put(resource: string, object: Stored): Stored {
    const { namespace = '', name = '' } = object.metadata ?? {};
    const existing = this.#collection(resource).get(key(namespace, name));
    return this.#write(resource, object, existing === undefined ? 'ADDED' : 'MODIFIED');
  }

  remove(resource: string, namespace: string, name: string): void {
    const existing = this.#collection(resource).get(key(namespace, name));
    if (existing === undefined) return;
    this.#collection(resource).delete(key(namespace, name));
    this.#record({ resourceVersion: this.#next(), type: 'DELETED', resource, object: existing });
  }

  get(resource: string, namespace: string, name: string): Stored | undefined {
    const object = this.#collection(resource).get(key(namespace, name));
    return object === undefined ? undefined : copy(object);
  }

  list(resource: string): Stored[] {
    return [...this.#collection(resource).values()].map(copy);
  }

  /** Ends every open watch as a dropped connection does (the client sees an error). */
  dropWatches(error: unknown = new Error('connection reset')): void {
    for (const watch of [...this.#watches]) this.#end(watch, error);
  }

  /** Forgets the change history, as etcd compaction does: older resourceVersions get 410 Gone. */
  compact(): void {
    this.#compactedAt = this.#resourceVersion;
    this.#changes = [];
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  clients(server = 'https://fake.invalid'): KubeClients {
    const objectCall = async <T>(
      verb: Verb,
      resource: string,
      namespace: string | undefined,
      name: string | undefined,
      run: () => T,
      body?: object,
    ) => {
      const call: Call = {
        verb,
        resource,
        namespace: namespace ?? '',
        name: name ?? '',
        ...(body === undefined ? {} : { body: copy(body) }),
      };
      this.calls.push(call);
      // Every call yields, so concurrent clients interleave as they would over the network.
      await new Promise((resolve) => setImmediate(resolve));
      for (const hook of this.#hooks) await hook(call);
      return copy(run());
    };
    const crud = (resource: string) => ({
      read: ({ name, namespace = '' }: { name: string; namespace?: string }) =>
        objectCall('get', resource, namespace, name, () => this.#read(resource, namespace, name)),
      create: ({ namespace = '', body }: { namespace?: string; body: object }) =>
        objectCall(
          'create',
          resource,
          namespace,
          (body as Stored).metadata?.name,
          () => this.#create(resource, namespace, body as Stored),
          body,
        ),
      replace: ({ name, namespace = '', body }: { name: string; namespace?: string; body: object }) =>
        objectCall('replace', resource, namespace, name, () => this.#replace(resource, namespace, name, body as Stored), body),
      patch: ({ name, namespace = '', body }: { name: string; namespace?: string; body: object }) =>
        objectCall('patch', resource, namespace, name, () => this.#patch(resource, namespace, name, body as Operation[]), body),
      delete: ({ name, namespace = '' }: { name: string; namespace?: string }) =>
        objectCall('delete', resource, namespace, name, () => this.#delete(resource, namespace, name)),
      list: (
        namespace: string | undefined,
        options: { fieldSelector?: string; labelSelector?: string; limit?: number; continueToken?: string },
      ) => objectCall('list', resource, namespace, undefined, () => this.#list(resource, namespace, options)),
    });
    const secrets = crud('secrets');
    const leases = crud('leases');
    const mutating = crud('mutatingwebhookconfigurations');
    const validating = crud('validatingwebhookconfigurations');
    const custom = (group: string, plural: string) => crud(`${plural}.${group}`);
    return {
      server,
      core: {
        readNamespacedSecret: secrets.read,
        createNamespacedSecret: secrets.create,
        replaceNamespacedSecret: secrets.replace,
        listNamespacedConfigMap: ({ namespace, fieldSelector }) =>
          crud('configmaps').list(namespace, { ...(fieldSelector ? { fieldSelector } : {}) }),
        listNamespace: (request = {}) =>
          crud('namespaces').list(undefined, {
            ...(request.limit ? { limit: request.limit } : {}),
            ...(request.continue ? { continueToken: request.continue } : {}),
          }) as Promise<ObjectList<V1Namespace>>,
        createNamespacedEvent: (request) => crud('events').create(request) as Promise<CoreV1Event>,
      },
      admission: {
        readMutatingWebhookConfiguration: mutating.read,
        patchMutatingWebhookConfiguration: mutating.patch,
        readValidatingWebhookConfiguration: validating.read,
        patchValidatingWebhookConfiguration: validating.patch,
      },
      coordination: { readNamespacedLease: leases.read, createNamespacedLease: leases.create, replaceNamespacedLease: leases.replace },
      custom: {
        listClusterCustomObject: ({ group, plural, labelSelector }) =>
          custom(group, plural).list(undefined, { ...(labelSelector ? { labelSelector } : {}) }),
        getNamespacedCustomObject: (request) => custom(request.group, request.plural).read(request),
        createNamespacedCustomObject: (request) => custom(request.group, request.plural).create(request),
        replaceNamespacedCustomObject: (request) => custom(request.group, request.plural).replace(request),
        deleteNamespacedCustomObject: (request) => custom(request.group, request.plural).delete(request),
      },
      objects: {
        // Page by page as the API server serves them; each page a `list` call (with its limit) that hooks see.
        async *listObjects(_apiVersion: string, kind: string, namespace: string | undefined, pageSize: number) {
          let continueToken: string | undefined;
          do {
            const page = await crud(`${kind.toLowerCase()}s`).list(namespace, {
              limit: pageSize,
              ...(continueToken === undefined ? {} : { continueToken }),
            });
            yield* page.items;
            continueToken = page.metadata?.continue;
          } while (continueToken !== undefined);
        },
      },
      version: { getCode: () => Promise.resolve({ major: '1', minor: '34' }) },
      watch: { watch: (path, query, callback, done) => this.#watch(path, query, callback, done) },
    };
  }

  #collection(resource: string): Map<string, Stored> {
    let collection = this.#store.get(resource);
    if (collection === undefined) {
      collection = new Map();
      this.#store.set(resource, collection);
    }
    return collection;
  }

  #next(): number {
    this.#resourceVersion += 1;
    return this.#resourceVersion;
  }

  #write(resource: string, object: Stored, type: 'ADDED' | 'MODIFIED'): Stored {
    const resourceVersion = this.#next();
    const { namespace = '', name = '' } = object.metadata ?? {};
    const previous = this.#collection(resource).get(key(namespace, name));
    const stored: Stored = copy({
      ...object,
      metadata: {
        ...object.metadata,
        uid: previous?.metadata?.uid ?? `uid-${resource}-${namespace}-${name}`,
        resourceVersion: String(resourceVersion),
      },
    });
    this.#collection(resource).set(key(namespace, name), stored);
    this.#record({ resourceVersion, type, resource, object: stored });
    return stored;
  }

  #record(change: Change): void {
    this.#changes.push(change);
    for (const watch of this.#watches) this.#deliver(watch, change);
  }

  #deliver(watch: OpenWatch, change: Change): void {
    const { namespace = '', name } = change.object.metadata ?? {};
    if (change.resource !== watch.resource || (watch.namespace !== '' && namespace !== watch.namespace)) return;
    if (watch.name !== undefined && name !== watch.name) return;
    const object = copy(change.object);
    // Events arrive asynchronously, in order, as lines of a watch stream do.
    setImmediate(() => {
      if (!watch.ended) watch.callback(change.type, object);
    });
  }

  #read(resource: string, namespace: string, name: string): Stored {
    const object = this.#collection(resource).get(key(namespace, name));
    if (object === undefined) throw apiError(404, `${resource} "${name}" not found`);
    return object;
  }

  #create(resource: string, namespace: string, body: Stored): Stored {
    const metadata = { ...body.metadata, namespace };
    if (metadata.name === undefined && metadata.generateName !== undefined) {
      this.#generated += 1;
      metadata.name = `${metadata.generateName}${this.#generated}`;
    }
    if (metadata.resourceVersion !== undefined) throw apiError(400, 'resourceVersion should not be set on objects to be created');
    if (this.#collection(resource).has(key(namespace, metadata.name ?? '')))
      throw apiError(409, `${resource} "${metadata.name}" already exists`);
    return this.#write(resource, { ...body, metadata }, 'ADDED');
  }

  #replace(resource: string, namespace: string, name: string, body: Stored): Stored {
    const existing = this.#read(resource, namespace, name);
    const expected = body.metadata?.resourceVersion;
    if (expected !== undefined && expected !== existing.metadata?.resourceVersion) {
      throw apiError(409, `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified`);
    }
    return this.#write(resource, { ...body, metadata: { ...body.metadata, name, namespace } }, 'MODIFIED');
  }

  #patch(resource: string, namespace: string, name: string, operations: Operation[]): Stored {
    const existing = this.#read(resource, namespace, name);
    let patched: Stored;
    try {
      patched = fastJsonPatch.applyPatch(copy(existing), operations, true).newDocument;
    } catch (error) {
      // The API server answers a failed JSON patch (a `test` included) with 422 Unprocessable Entity.
      throw apiError(422, `the patch could not be applied: ${(error as Error).name}`);
    }
    return this.#write(resource, patched, 'MODIFIED');
  }

  #delete(resource: string, namespace: string, name: string): Stored {
    const existing = this.#read(resource, namespace, name);
    this.remove(resource, namespace, name);
    return existing;
  }

  #list(
    resource: string,
    namespace: string | undefined,
    options: { fieldSelector?: string; labelSelector?: string; limit?: number; continueToken?: string },
  ): ObjectList<Stored> {
    const matches = (object: Stored) => {
      if (namespace && object.metadata?.namespace !== namespace) return false;
      for (const [selector, source] of [
        [options.fieldSelector, (field: string) => (field === 'metadata.name' ? object.metadata?.name : undefined)],
        [options.labelSelector, (label: string) => object.metadata?.labels?.[label]],
      ] as const) {
        for (const term of selector?.split(',') ?? []) {
          const [field = '', value] = term.split('=');
          if (source(field) !== value) return false;
        }
      }
      return true;
    };
    const keys = [...this.#collection(resource).keys()].sort();
    const start = options.continueToken === undefined ? 0 : keys.findIndex((candidate) => candidate > options.continueToken!);
    const selected = (start === -1 ? [] : keys.slice(start)).filter((name) => matches(this.#collection(resource).get(name)!));
    const page = options.limit === undefined ? selected : selected.slice(0, options.limit);
    const more = page.length < selected.length;
    return {
      metadata: { resourceVersion: String(this.#resourceVersion), ...(more ? { continue: page.at(-1) } : {}) },
      items: page.map((name) => this.#collection(resource).get(name)!),
    };
  }

  async #watch(
    path: string,
    queryParams: Query,
    callback: (phase: string, object: unknown) => void,
    done: (error: unknown) => void,
  ): Promise<{ abort(): void }> {
    const [, namespace = '', resource = ''] = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?([^/]+)$/.exec(path) ?? [];
    const name = typeof queryParams.fieldSelector === 'string' ? /^metadata\.name=(.+)$/.exec(queryParams.fieldSelector)?.[1] : undefined;
    const call = { verb: 'watch' as const, resource, namespace, name: name ?? '' };
    this.calls.push(call);
    const watch: OpenWatch = { resource, namespace, name, callback, done, ended: false };
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () =>
      this.#end(watch, Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' })),
    );
    try {
      await new Promise((resolve) => setImmediate(resolve));
      for (const hook of this.#hooks) await hook(call);
    } catch (error) {
      this.#end(watch, error);
      return controller;
    }
    const from = Number(queryParams.resourceVersion ?? 0);
    if (from < this.#compactedAt) {
      // As the API server does: an ERROR event with a 410 Status, then the stream ends.
      setImmediate(() => {
        callback('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
        this.#end(watch, null);
      });
      return controller;
    }
    this.#watches.add(watch);
    for (const change of this.#changes) if (change.resourceVersion > from) this.#deliver(watch, change);
    return controller;
  }

  #end(watch: OpenWatch, error: unknown): void {
    if (watch.ended) return;
    watch.ended = true;
    this.#watches.delete(watch);
    setImmediate(() => watch.done(error));
  }
}
