import { readFileSync } from 'node:fs';
import { isObject } from '../core/types.js';
import { DOCKER_HUB } from './reference.js';

/** A user name and password (or token) for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** Credentials by registry host. */
export type CredentialStore = ReadonlyMap<string, Credentials>;

export class CredentialsError extends Error {
  override name = 'CredentialsError';
}

/** `https://index.docker.io/v1/`, `https://host:5000`, `host:5000/v2/` → the host they name. */
function registryKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

function entryCredentials(entry: unknown): Credentials | undefined {
  if (!isObject(entry)) return undefined;
  if (typeof entry.username === 'string' && typeof entry.password === 'string')
    return { username: entry.username, password: entry.password };
  if (typeof entry.auth !== 'string' || entry.auth === '') return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The `auths` of a docker config (`~/.docker/config.json`, or a `.dockerconfigjson` Secret's value).
 * Credential helpers (`credsStore`, `credHelpers`) run programs and are not supported.
 */
export function parseDockerConfig(text: string, source: string): Map<string, Credentials> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CredentialsError(`invalid docker config ${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  // A legacy `.dockercfg` has the auths at the top level.
  const auths = isObject(value) && isObject(value.auths) ? value.auths : value;
  if (!isObject(auths)) throw new CredentialsError(`invalid docker config ${source}: expected an object with "auths"`);
  const store = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(auths)) {
    const credentials = entryCredentials(entry);
    if (credentials !== undefined) store.set(registryKey(key), credentials);
  }
  return store;
}

/** Reads a docker config file; a missing file means no credentials when `optional`. */
export function readDockerConfig(path: string, optional = false): Map<string, Credentials> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new CredentialsError(`cannot read docker config ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseDockerConfig(text, path);
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** The first challenge of a `WWW-Authenticate` header: `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  const pattern = /\s*([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const rest = match[2] ?? '';
  pattern.lastIndex = 0;
  for (let found = pattern.exec(rest); found !== null && found[0] !== ''; found = pattern.exec(rest)) {
    params[(found[1] ?? '').toLowerCase()] = found[2] === undefined ? (found[3] ?? '') : found[2].replace(/\\(.)/g, '$1');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
