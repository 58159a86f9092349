import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DEFAULT_POLICY, type Policy } from '../engine/policy.js';
import { parsePolicy } from '../engine/policy-text.js';
import { ApiError } from './api-server.js';
import type { KubeClients } from './client.js';
import { Informer } from './informer.js';
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
  /** Delay before the first retry after an error; it doubles with each failure in a row, up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * How long start waits for the first read before the server starts on the policy it has (the
   * built-in default): long enough for an API server that is slow to answer, short enough that an
   * unreachable one does not keep the webhook down (it keeps retrying, and the ConfigMap's policy
   * replaces the default as soon as it is read).
   */
  startTimeoutMs?: number;
}

/** Why the ConfigMap could not be read: the API server's answer, or that it did not answer. */
function describeFailure(error: unknown): string {
  if (error instanceof ApiError) return `the API server answered ${error.code}`;
  const message = error instanceof Error ? error.message : String(error);
  return `the API server is unreachable (${message})`;
}

/**
 * Reads the policy ConfigMap at start and follows its changes (list, then watch; re-listed whenever
 * the watch ends). An invalid policy is refused with a log line, an Event on the ConfigMap and a
 * metric, and the last good policy stays in force; a missing ConfigMap means the default policy.
 * An API server that cannot be reached is not a missing ConfigMap: the policy in force stays (the
 * default only until one was read), start waits for the first successful read up to
 * `startTimeoutMs`, and reading is retried with backoff.
 */
export class PolicyConfigMapWatcher {
  readonly #clients: KubeClients;
  readonly #options: PolicyConfigMapOptions;
  #informer: Informer<V1ConfigMap> | undefined;
  #lastText: string | undefined;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  /** Failed reads in a row (for the backoff). */
  #failures = 0;
  #loaded = false;
  #listedOnce = false;
  /** Settles with the first successful list (or stop): until then the ConfigMap is neither read nor known to be missing. */
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
      this.#loaded = true;
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

  /** Resolves after the first successful read (retried until then) or after `startTimeoutMs`, whichever comes first. */
  async start(): Promise<void> {
    const { namespace, name } = this.#options;
    const fieldSelector = `metadata.name=${name}`;
    const informer = new Informer<V1ConfigMap>(
      `/api/v1/namespaces/${namespace}/configmaps`,
      this.#clients.watch,
      async () => {
        const list = await this.#clients.core.listNamespacedConfigMap({ namespace, fieldSelector });
        this.#failures = 0;
        this.#listedOnce = true;
        // Found missing only by a list that succeeded: a failed one (e.g. an unreachable API server) proves nothing.
        if (list.items.length === 0) this.#apply(undefined);
        this.#listed();
        return list;
      },
      { fieldSelector },
    );
    informer.on('add', (configMap) => this.#apply(configMap));
    informer.on('update', (configMap) => this.#apply(configMap));
    informer.on('delete', () => this.#apply(undefined));
    informer.on('error', (error) => this.#failed(error));
    this.#informer = informer;
    await this.#run(informer);
    const { startTimeoutMs = 15_000, logger } = this.#options;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), startTimeoutMs)));
    const late = await Promise.race([this.#firstList.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late)
      logger.warn(
        { configMap: this.source },
        `policy ${this.source} not read after ${startTimeoutMs / 1000}s: serving with the built-in default policy until it can be read`,
      );
  }

  async #run(informer: Informer<V1ConfigMap>): Promise<void> {
    try {
      await informer.start();
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    if (this.#stopped || this.#retry !== undefined) return;
    const { logger, retryMs = 5000, maxRetryMs = 60_000 } = this.#options;
    const delay = Math.min(retryMs * 2 ** this.#failures, maxRetryMs);
    this.#failures += 1;
    const keeping = this.#loaded
      ? 'the last good policy stays in force'
      : this.#listedOnce
        ? 'the built-in default policy stays in force'
        : 'the built-in default policy applies until it can be read';
    logger.warn(
      { err: error, configMap: this.source, retryInMs: delay },
      `cannot read policy ${this.source}: ${describeFailure(error)}; ${keeping}; retrying in ${delay / 1000}s`,
    );
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#informer !== undefined) void this.#run(this.#informer);
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#listed();
    await this.#informer?.stop();
  }
}
