import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../threads/worker.js';
import type { Policy } from '../../engine/policy.js';
import type { ClusterInfo } from '../../core/types.js';
import type { Answer, Endpoint } from './answer.js';

/**
 * Bodies up to this size are answered inline (a typical review is a few KiB and takes about a
 * millisecond); larger ones are parsed and decided in a worker thread, so that a review with
 * 100,000 containers (seconds of work) never keeps /healthz or other reviews waiting.
 */
export const OFF_THREAD_BYTES = 64 * 1024;

/** The API server waits at most 30 s for a webhook; a job still running then is abandoned. */
const JOB_TIMEOUT_MS = 30_000;

export interface DecisionJob {
  endpoint: Endpoint;
  body: Uint8Array;
  policy: Policy;
  cluster: ClusterInfo;
  /** Every known namespace's labels (a function cannot cross to the worker), when the policy's exceptions select namespaces. */
  namespaceLabels?: Record<string, Record<string, string>>;
}

interface Pending {
  job: DecisionJob;
  resolve: (answer: Answer) => void;
  reject: (error: Error) => void;
}

/**
 * One worker thread (the webhook gets about one core besides the event loop), started on first use,
 * restarted after a crash (out of memory, for example) or a timeout. Jobs wait their turn in order.
 * The worker never keeps the process alive.
 */
export class DecisionWorker {
  #worker: Worker | undefined;
  #running: (Pending & { timer: NodeJS.Timeout }) | undefined;
  readonly #queue: Pending[] = [];
  #stopped = false;

  answer(job: DecisionJob): Promise<Answer> {
    if (this.#stopped) return Promise.reject(new Error('decision worker stopped'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#next();
    });
  }

  /** Ends the worker; queued jobs fail. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const pending of this.#queue.splice(0)) pending.reject(new Error('decision worker stopped'));
    this.#fail(new Error('decision worker stopped'));
    await this.#worker?.terminate();
    this.#worker = undefined;
  }

  #next(): void {
    if (this.#running !== undefined) return;
    const pending = this.#queue.shift();
    if (pending === undefined) {
      this.#worker?.unref();
      return;
    }
    const worker = this.#ensureWorker();
    worker.ref();
    const timer = setTimeout(() => {
      this.#fail(new Error(`review not decided within ${JOB_TIMEOUT_MS} ms`));
      void worker.terminate();
    }, JOB_TIMEOUT_MS);
    timer.unref();
    this.#running = { ...pending, timer };
    // Moved, not copied, when the bytes own their memory (a body read in several chunks does): the
    // event loop then neither copies megabytes nor leaves them to its garbage collector.
    const { body } = pending.job;
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
    worker.postMessage(pending.job, owned ? [body.buffer] : []);
  }

  #ensureWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = startWorker('decision-worker', import.meta.url);
    worker.on('message', (answer: Answer) => {
      const running = this.#running;
      this.#running = undefined;
      if (running !== undefined) {
        clearTimeout(running.timer);
        running.resolve(answer);
      }
      this.#next();
    });
    const lost = (error: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      this.#fail(error);
      if (!this.#stopped) this.#next();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`decision worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #fail(error: Error): void {
    const running = this.#running;
    this.#running = undefined;
    if (running === undefined) return;
    clearTimeout(running.timer);
    running.reject(error);
  }
}
