/** Queues a write of an answer; it happens once the event loop has read what arrived with it. */
export type WriteBatch = (write: () => void) => void;

/**
 * Answers written together: the writes queued while the event loop handles one round of I/O (every
 * request that arrived together) are made at the end of that round (setImmediate), not one by one
 * between the decisions. Each answer is still its own write to its own socket; what changes is the
 * other side: a client (the API server) waiting on many connections is woken once for the round,
 * not once per answer while the next review is being decided. On loopback the sender pays for that
 * wake-up inside its write, and on this machine that doubled the cost of a write (docs/performance.md).
 * An answer waits at most for the decisions of its own round; alone, only for the hop to the next phase.
 */
export function createWriteBatch(onError: (error: unknown) => void): WriteBatch {
  let pending: (() => void)[] = [];
  const flush = () => {
    const writes = pending;
    pending = [];
    for (const write of writes) {
      // One failed write must not cost the other answers of its round theirs.
      try {
        write();
      } catch (error) {
        onError(error);
      }
    }
  };
  return (write) => {
    if (pending.push(write) === 1) setImmediate(flush);
  };
}
