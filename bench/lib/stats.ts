// The one percentile of the bench (latencies, medians of rounds): nearest rank.

/** The value at `fraction` (0.5: the median, 0.99: p99) of values sorted in ascending order; undefined when there are none. */
export function percentile<T>(sorted: readonly T[], fraction: number): T | undefined {
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1))];
}
