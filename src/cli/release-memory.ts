/**
 * Gives memory back after a burst of work the idle webhook does not need again: start-up (loading the
 * modules, building the policy) and each background scan (every workload listed and evaluated) grow
 * V8's young generation, and nothing shrinks it while the webhook idles: about 15 MB of an idle
 * replica's RSS on Node 24 after start-up (docs/performance.md). Load grows it again where that helps
 * throughput. The collection holds the event loop for a few milliseconds, once per burst.
 * Node has no API for a memory-reducing collection; the inspector protocol's (DevTools' "collect
 * garbage") is one, in-process and without --expose-gc. A `gc` taken from a vm context would do as
 * well, but a second context cost every later admission request 6-9% (measured).
 * Returns false when it could not: a Node built without the inspector keeps its memory, and serves.
 */
export async function releaseMemory(): Promise<boolean> {
  try {
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    try {
      await session.post('HeapProfiler.collectGarbage');
    } finally {
      session.disconnect();
    }
    return true;
  } catch {
    return false;
  }
}
