import type { V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { NamespaceLabelSource } from '../engine/exceptions.js';
import type { KubeClients } from './client.js';
import { Informer } from './informer.js';

/**
 * The labels of every namespace, kept current by a list and watch: an AdmissionReview carries no
 * namespace labels, and exceptions with a namespaceSelector need them. Until the first list has
 * arrived (or when it fails) a namespace's labels are unknown and such exceptions do not apply.
 */
export class NamespaceLabelWatcher implements NamespaceLabelSource {
  readonly #clients: KubeClients;
  readonly #logger: Logger;
  readonly #retryMs: number;
  #informer: Informer<V1Namespace> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(clients: KubeClients, logger: Logger, retryMs = 5000) {
    this.#clients = clients;
    this.#logger = logger;
    this.#retryMs = retryMs;
  }

  /** The namespace's labels, or undefined while unknown. */
  labels(namespace: string): Record<string, string> | undefined {
    const found = this.#informer?.get(namespace);
    return found === undefined ? undefined : (found.metadata?.labels ?? {});
  }

  /** Every known namespace's labels (none while unknown). */
  all(): Record<string, Record<string, string>> {
    const labels: Record<string, Record<string, string>> = {};
    for (const namespace of this.#informer?.list() ?? []) {
      const name = namespace.metadata?.name;
      if (name !== undefined) labels[name] = namespace.metadata?.labels ?? {};
    }
    return labels;
  }

  /** Starts listing in the background; never blocks the server's start. */
  start(): void {
    const informer = new Informer<V1Namespace>('/api/v1/namespaces', this.#clients.watch, () => this.#clients.core.listNamespace());
    informer.on('error', (error) => {
      if (this.#stopped) return;
      this.#logger.warn({ err: error }, 'namespace watch failed; restarting (exceptions with a namespaceSelector do not apply meanwhile)');
      this.#retry = setTimeout(() => void this.#run(informer), this.#retryMs);
    });
    this.#informer = informer;
    void this.#run(informer);
  }

  async #run(informer: Informer<V1Namespace>): Promise<void> {
    try {
      await informer.start();
    } catch (error) {
      if (this.#stopped) return;
      this.#logger.warn({ err: error }, 'namespace list failed; retrying');
      this.#retry = setTimeout(() => void this.#run(informer), this.#retryMs);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer?.stop();
  }
}
