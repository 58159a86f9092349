import type { Policy } from '../engine/policy.js';
import type { Metrics } from './metrics.js';

/** The policy in force. Replaced as a whole, so a request always sees one consistent policy. */
export class PolicyHolder {
  #policy: Policy;
  readonly #listeners: ((policy: Policy) => void)[] = [];

  constructor(
    policy: Policy,
    private readonly metrics?: Metrics,
  ) {
    this.#policy = policy;
  }

  get current(): Policy {
    return this.#policy;
  }

  /** Puts a validated policy in force. */
  replace(policy: Policy): void {
    this.#policy = policy;
    this.metrics?.policyReloads.inc();
    for (const listener of this.#listeners) listener(policy);
  }

  /** Records a policy that was refused; the current one stays in force. */
  refuse(): void {
    this.metrics?.policyReloadErrors.inc();
  }

  onReplace(listener: (policy: Policy) => void): void {
    this.#listeners.push(listener);
  }
}
