import { InvalidArgumentError } from 'commander';
import { DURATION_SYNTAX, parseDuration as parseCoreDuration } from '../core/duration.js';

/** A lifetime (`90s`, `12h`, `365d`, `1y`, ...) in milliseconds; more than zero. */
export function parseDuration(value: string): number {
  const ms = parseCoreDuration(value);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`expected ${DURATION_SYNTAX}, more than 0`);
  return ms;
}

/** A delay in seconds: a duration (`5s`, `1m`), or a bare number of seconds as before durations were accepted. */
export function parseSeconds(value: string): number {
  const bare = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : undefined;
  const ms = bare === undefined ? parseCoreDuration(value) : bare * 1000;
  if (ms === undefined) throw new InvalidArgumentError(`expected ${DURATION_SYNTAX}, or a number of seconds`);
  return ms / 1000;
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return port;
}

/** `NAMESPACE/NAME`. */
export function parseNamespacedName(value: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length > 0) throw new InvalidArgumentError('expected NAMESPACE/NAME');
  return { namespace, name };
}

export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return number;
}

/** `a,b,c`, ignoring empty items. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `1.29` (or `v1.29.3`): the Kubernetes version a manifest is meant for, which picks the preStop action. */
export function parseKubeVersion(value: string): { version: { major: number; minor: number } } {
  const match = /^v?(\d+)\.(\d+)(\.\d+)?$/.exec(value.trim());
  if (match === null) throw new InvalidArgumentError('expected a Kubernetes version such as 1.29 or v1.31.2');
  return { version: { major: Number(match[1]), minor: Number(match[2]) } };
}

const BYTE_UNITS: Record<string, number> = { '': 1, k: 1000, m: 1000 ** 2, g: 1000 ** 3, ki: 1024, mi: 1024 ** 2, gi: 1024 ** 3 };

/** `1048576`, `512Ki`, `32Mi`, `1Gi` (also `32MiB`, `10M`) into bytes. */
export function parseByteSize(value: string): number {
  const match = /^(\d+)\s*([kmg]i?)?b?$/i.exec(value.trim());
  const bytes = match === null ? Number.NaN : Number(match[1]) * (BYTE_UNITS[(match[2] ?? '').toLowerCase()] ?? Number.NaN);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError('expected a size such as 8Mi, 512Ki or 1048576');
  return bytes;
}
