import { z } from 'zod';

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(0|(\d+)(ms|s|m|h))$/;

/** `500ms`, `30s`, `10m`, `1h` (or `0`) in milliseconds; undefined when the text is no such duration. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (match === null) return undefined;
  return match[1] === '0' ? 0 : Number.parseInt(match[2] ?? '', 10) * (UNITS_MS[match[3] ?? ''] ?? 0);
}

/** A policy duration: text in the policy, milliseconds once loaded; `0` is always allowed, other values within bounds. */
export function durationSchema(defaultValue: string, help: string, bounds: { min?: number; max?: number } = {}) {
  const { min = 1000, max = Number.MAX_SAFE_INTEGER } = bounds;
  return z
    .string()
    .regex(DURATION, help)
    .prefault(defaultValue)
    .transform((value) => parseDuration(value) ?? 0)
    .refine((ms) => ms === 0 || (ms >= min && ms <= max), help);
}
