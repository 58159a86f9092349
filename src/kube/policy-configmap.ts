import { ListWatch, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '../engine/policy.js';
import type { KubeClients } from './client.js';
import { recordEvent } from './events.js';

export const POLICY_KEY = 'policy.yaml';

export interface PolicyConfigMapOptions {
  namespace: string;
  name: string;
  logger: Logger;
  /** A valid policy from the ConfigMap (or the default one when the ConfigMap is missing). */
  onPolicy: (policy: Policy, source: string) => void;
  /** A policy that was refused; the last good one stays in force. */
  onInvalid: (error: Error) => void;
  /** Delay before the watch restarts after an error. */
  retryMs?: number;
}

/**
 * Reads the policy ConfigMap at start and follows its changes (list, then watch; re-listed whenever
 * the watch ends). An invalid policy is refused with a log line, an Event on the ConfigMap and a
 * metric, and the last good policy stays in force; a missing ConfigMap means the default policy.
 */
export class PolicyConfigMapWatcher {
  readonly #clients: KubeClients;
  readonly #options: PolicyConfigMapOptions;
  #informer: ListWatch<V1ConfigMap> | undefined;
  #lastText: string | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  /** Settles with the first successful list: until then the ConfigMap is neither read nor known to be missing. */
  #listed: () => void = () => undefined;
  readonly #firstList = new Promise<void>((resolve) => (this.#listed = resolve));

  constructor(clients: KubeClients, options: PolicyConfigMapOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  get source(): string {
    return `ConfigMap ${this.#options.namespace}/${this.#options.name}`;
  }

  #apply(configMap: V1ConfigMap | undefined): void {
    const { logger, onPolicy, onInvalid } = this.#options;
    const text = configMap?.data?.[POLICY_KEY];
    if (configMap === undefined || text === undefined) {
      if (this.#lastText === '') return;
      this.#lastText = '';
      logger.warn(
        { configMap: this.source },
        configMap === undefined
          ? 'policy ConfigMap not found: using the built-in default policy'
          : `policy ConfigMap has no ${POLICY_KEY}: using the built-in default policy`,
      );
      onPolicy(DEFAULT_POLICY, 'built-in default');
      return;
    }
    if (text === this.#lastText) return;
    this.#lastText = text;
    try {
      const policy = parsePolicy(text, `${this.source} key ${POLICY_KEY}`);
      logger.info({ configMap: this.source, resourceVersion: configMap.metadata?.resourceVersion }, 'policy loaded');
      onPolicy(policy, this.source);
    } catch (error) {
      logger.error({ configMap: this.source, err: error }, 'policy refused: the last good policy stays in force');
      onInvalid(error as Error);
      recordEvent(
        this.#clients.core,
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: this.#options.name,
          namespace: this.#options.namespace,
          ...(configMap.metadata?.uid ? { uid: configMap.metadata.uid } : {}),
        },
        { type: 'Warning', reason: 'InvalidPolicy', message: `${(error as Error).message}; the last good policy stays in force` },
      ).catch((eventError: unknown) => logger.warn({ err: eventError }, 'could not record the InvalidPolicy event'));
    }
  }

  /** Resolves after the first successful read (retried until then), so the server starts with the configured policy. */
  async start(): Promise<void> {
    const { namespace, name, logger, retryMs = 5000 } = this.#options;
    const fieldSelector = `metadata.name=${name}`;
    const informer = new ListWatch<V1ConfigMap>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      this.#clients.watch,
      async () => {
        const list = await this.#clients.core.listNamespacedConfigMap({ namespace, fieldSelector });
        // Found missing only by a list that succeeded: a failed one keeps the policy in force.
        if (list.items.length === 0) this.#apply(undefined);
        this.#listed();
        return list;
      },
      false,
      undefined,
      fieldSelector,
    );
    informer.on('add', (configMap) => this.#apply(configMap));
    informer.on('update', (configMap) => this.#apply(configMap));
    informer.on('delete', () => this.#apply(undefined));
    informer.on('error', (error) => {
      if (this.#stopped) return;
      logger.warn({ err: error, configMap: this.source }, 'policy watch failed; restarting');
      this.#retry = setTimeout(() => void this.#startInformer(informer), retryMs);
    });
    this.#informer = informer;
    await this.#startInformer(informer);
    await this.#firstList;
  }

  async #startInformer(informer: ListWatch<V1ConfigMap>): Promise<void> {
    try {
      await informer.start();
    } catch (error) {
      if (this.#stopped) return;
      this.#options.logger.warn({ err: error, configMap: this.source }, 'policy list failed; retrying');
      this.#retry = setTimeout(() => void this.#startInformer(informer), this.#options.retryMs ?? 5000);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#informer?.stop();
  }
}
