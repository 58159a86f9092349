/**
 * A cap on the bytes buffered across all request bodies in flight. Each body may be up to the size
 * limit (7 MiB), so without a shared cap a burst of large reviews (or slow senders holding partial
 * bodies) would grow memory without bound; over the cap the server answers 503 with Retry-After and
 * the API server's failurePolicy decides, instead of the process running out of memory.
 */
export class BodyBudget {
  readonly capacity: number;
  #used = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes currently held by bodies in flight. */
  get used(): number {
    return this.#used;
  }

  /**
   * Takes `bytes` more for a body that already holds `held`. A body alone always fits, so that
   * every body under the size limit can be answered when nothing else is buffered.
   */
  take(bytes: number, held: number): boolean {
    if (this.#used > held && this.#used + bytes > this.capacity) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }
}
