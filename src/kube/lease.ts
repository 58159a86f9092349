import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isStatus, type KubeClients } from './client.js';

/** Lease times are MicroTime: the API server wants six fractional digits, Date#toISOString gives three. */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This replica's identity (its Pod name). */
  identity: string;
  durationSeconds: number;
  logger: Logger;
}

/**
 * A coordination.k8s.io Lease that one replica holds at a time, so only one writes reports.
 * Optimistic concurrency (resourceVersion) settles races: the loser of a conflict is not the leader.
 */
export class LeaderLease {
  readonly #clients: KubeClients;
  readonly #options: LeaseOptions;
  #leader = false;

  constructor(clients: KubeClients, options: LeaseOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Acquires or renews the lease; returns whether this replica holds it now. */
  async tryAcquire(durationSeconds = this.#options.durationSeconds, now = new Date()): Promise<boolean> {
    const { namespace, name, identity, logger } = this.#options;
    const spec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: new MicroTime(now) };
    try {
      let lease: V1Lease | undefined;
      try {
        lease = await this.#clients.coordination.readNamespacedLease({ name, namespace });
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
      if (lease === undefined) {
        await this.#clients.coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { ...spec, acquireTime: new MicroTime(now) } },
        });
      } else {
        const holder = lease.spec?.holderIdentity;
        const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
        const expired = renewed + (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000 < now.getTime();
        if (holder !== identity && !expired) return this.#set(false);
        const acquireTime = new MicroTime(holder === identity && lease.spec?.acquireTime ? lease.spec.acquireTime : now);
        await this.#clients.coordination.replaceNamespacedLease({
          name,
          namespace,
          body: { ...lease, spec: { ...lease.spec, ...spec, acquireTime } },
        });
      }
      return this.#set(true);
    } catch (error) {
      if (isStatus(error, 409)) return this.#set(false);
      logger.warn({ err: error, lease: `${namespace}/${name}` }, 'lease not renewed');
      return this.#set(false);
    }
  }

  #set(leader: boolean): boolean {
    if (leader !== this.#leader)
      this.#options.logger.info(
        { lease: this.#options.name, identity: this.#options.identity, leader },
        leader ? 'became leader' : 'not leader',
      );
    this.#leader = leader;
    return leader;
  }
}
