import type { Query, WatchStream } from './api-server.js';

/** The part of an object an informer reads. */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** A list as the API server answers it: the items and the resourceVersion to watch from. */
export interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

type Listener<T> = { add: (object: T) => void; update: (object: T) => void; delete: (object: T) => void; error: (error: unknown) => void };

/**
 * A cache of one collection kept current by list, then watch (an informer, as client-go's reflector):
 * a watch that the API server ends is resumed from the last resourceVersion seen; one that fails with
 * 410 Gone (its resourceVersion compacted away), or reports an ERROR event, is resumed by a fresh list,
 * which also reports what was deleted meanwhile. Any other failure goes to the `error` listeners, and
 * the owner decides when to `start` again (with backoff). Nothing is reported after `stop`.
 */
export class Informer<T extends KubeObject> {
  readonly #path: string;
  readonly #watch: WatchStream;
  readonly #list: () => Promise<ObjectList<T>>;
  readonly #query: Query;
  /** namespace → name → object */
  #objects = new Map<string, Map<string, T>>();
  readonly #listeners: { [K in keyof Listener<T>]: Listener<T>[K][] } = { add: [], update: [], delete: [], error: [] };
  #resourceVersion = '';
  #request: { abort(): void } | undefined;
  /** Counts the informer's runs (a list and its watch): events and endings of an older run are ignored. */
  #run = 0;
  #stopped = false;

  constructor(path: string, watch: WatchStream, list: () => Promise<ObjectList<T>>, query: Query = {}) {
    this.#path = path;
    this.#watch = watch;
    this.#list = list;
    this.#query = query;
  }

  on<K extends keyof Listener<T>>(event: K, listener: Listener<T>[K]): void {
    this.#listeners[event].push(listener);
  }

  get(name: string, namespace = ''): T | undefined {
    return this.#objects.get(namespace)?.get(name);
  }

  list(): T[] {
    return [...this.#objects.values()].flatMap((objects) => [...objects.values()]);
  }

  /** Lists (unless a watch can resume) and watches; failures go to the `error` listeners, never to the caller. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#abandon();
    await this.#resume(null);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#abandon();
    return Promise.resolve();
  }

  /** Closes the open watch; a list or watch still under way is dropped when it arrives (it belongs to an older run). */
  #abandon(): void {
    this.#run += 1;
    this.#request?.abort();
    this.#request = undefined;
  }

  #emit<K extends keyof Listener<T>>(event: K, argument: Parameters<Listener<T>[K]>[0]): void {
    for (const listener of [...this.#listeners[event]]) (listener as (value: typeof argument) => void)(argument);
  }

  async #resume(error: unknown): Promise<void> {
    const run = this.#run;
    this.#request = undefined;
    if (this.#stopped) return;
    if ((error as { code?: unknown } | null)?.code === 410) this.#resourceVersion = '';
    else if (error !== null) return this.#emit('error', error);
    if (this.#resourceVersion === '') {
      let listed: ObjectList<T>;
      try {
        listed = await this.#list();
      } catch (listError) {
        if (run === this.#run) this.#emit('error', listError);
        return;
      }
      if (run !== this.#run) return;
      this.#replace(listed.items);
      this.#resourceVersion = listed.metadata?.resourceVersion ?? '';
    }
    const request = await this.#watch.watch(
      this.#path,
      { ...this.#query, resourceVersion: this.#resourceVersion },
      (type, object) => {
        if (run === this.#run) this.#event(type, object as T);
      },
      (watchError) => {
        if (run !== this.#run) return;
        this.#run += 1;
        void this.#resume(watchError);
      },
    );
    // Ended (and resumed) or abandoned while it was being opened: nothing more of it is wanted.
    if (run !== this.#run) request.abort();
    else this.#request = request;
  }

  #event(type: string, object: T): void {
    if (type === 'ERROR') {
      // The stream ends after it; a fresh list follows.
      this.#resourceVersion = '';
      return;
    }
    if (type === 'ADDED' || type === 'MODIFIED') this.#put(object);
    else if (type === 'DELETED') this.#remove(object);
    this.#resourceVersion = object.metadata?.resourceVersion ?? this.#resourceVersion;
  }

  #put(object: T): void {
    const { namespace = '', name = '', resourceVersion } = object.metadata ?? {};
    let objects = this.#objects.get(namespace);
    if (objects === undefined) this.#objects.set(namespace, (objects = new Map<string, T>()));
    const found = objects.get(name);
    if (found !== undefined && resourceVersion !== undefined && found.metadata?.resourceVersion === resourceVersion) return;
    objects.set(name, object);
    this.#emit(found === undefined ? 'add' : 'update', object);
  }

  #remove(object: T): void {
    const { namespace = '', name = '' } = object.metadata ?? {};
    const objects = this.#objects.get(namespace);
    if (objects?.delete(name) !== true) return;
    if (objects.size === 0) this.#objects.delete(namespace);
    this.#emit('delete', object);
  }

  /** A fresh list: what it no longer holds was deleted meanwhile. */
  #replace(items: T[]): void {
    const listed = new Set(items.map(({ metadata }) => `${metadata?.namespace ?? ''}/${metadata?.name ?? ''}`));
    for (const object of this.list()) {
      if (!listed.has(`${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`)) this.#remove(object);
    }
    for (const item of items) this.#put(item);
  }
}
