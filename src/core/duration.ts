import { z } from 'zod';

/**
 * The one duration syntax of lifecycle-guard, for the CLI (`--validity`, `--shutdown-delay`, ...)
 * and the policy (`scan.interval`, image `timeout`, ...): a number and a unit, ms, s, m, h, d or
 * y (365 days), possibly several in a row as in Go and kubectl (`1h30m`); `0` alone means zero.
 */
const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, y: 365 * 86_400_000 };

export const DURATION_SYNTAX = 'a duration such as 500ms, 90s, 10m, 1h30m, 30d or 1y (units ms, s, m, h, d, y)';

/** The duration in milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (value === '0') return 0;
  if (!/^(\d+(\.\d+)?(ms|[smhdy]))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|[smhdy])/g)) total += Number(amount) * (UNITS_MS[unit ?? ''] ?? 0);
  return total;
}

/**
 * A policy duration: text in the policy (a bare YAML 0 too), milliseconds once loaded; `0` is always
 * allowed, other values only within bounds. `help` says what the key takes.
 */
export function durationSchema(defaultValue: string, help: string, bounds: { min?: number; max?: number } = {}) {
  const { min = 1000, max = Number.MAX_SAFE_INTEGER } = bounds;
  return z
    .union([z.string(), z.number()])
    .prefault(defaultValue)
    .transform((value, context) => {
      const ms = parseDuration(String(value));
      if (ms === undefined || (ms !== 0 && (ms < min || ms > max))) context.addIssue({ code: 'custom', message: help });
      return ms ?? 0;
    });
}
