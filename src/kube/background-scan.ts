import type { Logger } from 'pino';
import type { Policy } from '../engine/policy.js';
import type { ClusterInfo } from '../core/types.js';
import type { KubeClients } from './client.js';
import type { LeaderLease } from './lease.js';
import { writeReports } from './reports.js';
import { scanCluster, type ScanOptions, type ScanReport } from './scanner.js';

export interface BackgroundScanOptions {
  policy: () => Policy;
  cluster: ClusterInfo;
  /** Only the lease holder writes reports; every replica scans, so each can answer GET /reports. */
  lease: LeaderLease;
  logger: Logger;
  /** Image lookups for no-shell-entrypoint (composed in the CLI). */
  inspectImages?: ScanOptions['inspectImages'];
  /** Called when a scan is over, its reports written or not (serve gives the scan's memory back then). */
  afterScan?: () => void;
}

/**
 * Scans the cluster on the policy's interval and after every policy change, keeps the latest
 * result for GET /reports, and (on the lease holder) writes PolicyReports or OpenReports.
 */
export class BackgroundScanner {
  readonly #clients: KubeClients;
  readonly #options: BackgroundScanOptions;
  #latest: ScanReport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(clients: KubeClients, options: BackgroundScanOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  get latest(): ScanReport | undefined {
    return this.#latest;
  }

  /** Starts scanning now; later scans follow the policy's interval. */
  start(): void {
    this.trigger();
  }

  /** Scans as soon as possible; a trigger during a scan runs one more scan after it (not one per trigger). */
  trigger(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#scanOnce().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.trigger();
      } else {
        this.#schedule();
      }
    });
  }

  #schedule(): void {
    const interval = this.#options.policy().scan.interval;
    if (this.#stopped || interval === 0) return;
    this.#timer = setTimeout(() => this.trigger(), interval);
    this.#timer.unref();
  }

  async #scanOnce(): Promise<void> {
    const { logger, lease, cluster } = this.#options;
    const policy = this.#options.policy();
    if (policy.scan.interval === 0) return;
    const started = Date.now();
    try {
      const { inspectImages } = this.#options;
      const report = await scanCluster(this.#clients, {
        policy,
        cluster,
        pageSize: policy.scan.pageSize,
        ...(inspectImages === undefined ? {} : { inspectImages }),
      });
      this.#latest = report;
      const uninspectedImages = report.uninspectedImages?.map(({ image, reason }) => `${image}: ${reason}`);
      logger.info(
        { objects: report.summary.objects, findings: report.summary.findings, uninspectedImages, durationMs: Date.now() - started },
        'scan finished',
      );
      if (policy.scan.reportFormat !== 'none' && (await lease.tryAcquire(Math.max(60, (policy.scan.interval * 2.5) / 1000)))) {
        await writeReports(this.#clients, report, policy.scan.reportFormat, logger);
      }
    } catch (error) {
      logger.error({ err: error }, 'scan failed');
    }
    this.#options.afterScan?.();
  }

  /** No new scan starts; one in progress is abandoned when the process exits. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
