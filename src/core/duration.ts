/**
 * The one duration syntax of lifecycle-guard, for the CLI (`--validity`, `--shutdown-delay`, ...)
 * and the policy (`scan.interval`, ...): a number and a unit, s, m, h, d or y (365 days), possibly
 * several in a row as in Go and kubectl (`1h30m`); `0` alone means zero.
 */
const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 };

export const DURATION_SYNTAX = 'a duration such as 90s, 10m, 1h30m, 30d or 1y (units s, m, h, d, y)';

/** The duration in milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (value === '0') return 0;
  if (!/^(\d+(\.\d+)?[smhdy])+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)([smhdy])/g)) total += Number(amount) * (UNITS_MS[unit ?? ''] ?? 0);
  return total;
}
