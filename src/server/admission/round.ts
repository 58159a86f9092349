/** Queues work for the end of the event loop's current round of I/O. */
export type AtEndOfRound = (work: () => void) => void;

/**
 * The admission reviews that arrive together (one round of I/O: every socket the event loop found
 * readable) are decided together and answered together at the end of the round (setImmediate), not
 * one by one between the TLS and HTTP work of the others. Two effects, both measured
 * (docs/performance.md):
 * - a client waiting on many connections (the API server) is woken once per round, not once per
 *   answer while the next review is decided; on loopback the sender pays for each wake-up inside
 *   its write;
 * - the decisions run back to back, so their code and data stay in the CPU's caches.
 * Work queued while the queue runs (the answers of the decisions) runs in the same pass, after it.
 * A review waits at most for the decisions of its own round; alone, only for the hop to the next phase.
 */
export function createRoundQueue(onError: (error: unknown) => void): AtEndOfRound {
  let queued: (() => void)[] = [];
  const run = () => {
    try {
      // The length is read on every pass: what the work queues is run in this pass too.
      for (let index = 0; index < queued.length; index += 1) {
        try {
          queued[index]?.();
        } catch (error) {
          onError(error); // one failure must not cost the rest of the round its answers
        }
      }
    } finally {
      queued = []; // even if onError threw: a queue left non-empty would never be run again
    }
  };
  return (work) => {
    if (queued.push(work) === 1) setImmediate(run);
  };
}
