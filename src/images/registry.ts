import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ImageInspection, ImagePlatformConfig } from '../core/images.js';
import { isObject, type JsonObject } from '../core/types.js';
import { parseChallenge, type CredentialStore, type Credentials } from './auth.js';
import { HttpError, httpGet, type HttpResponse } from './http.js';
import type { RegistryMetrics } from './metrics.js';
import { apiHost, formatReference, manifestReference, parseReference, type ImageReference } from './reference.js';

export type Inspected = Extract<ImageInspection, { status: 'inspected' }>;

/** Why an image could not be inspected; `kind` is a bounded metric label. */
export class InspectionError extends Error {
  override name = 'InspectionError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'unreachable' | 'unauthorized' | 'not-found' | 'invalid' | 'error',
  ) {
    super(message);
  }
}

export interface RegistryClientOptions {
  /** Credentials by registry host, from a docker config file. */
  credentials: CredentialStore;
  /** Mirrors tried in order before a registry itself, by the registry's host (`docker.io` for Docker Hub). */
  mirrors: Readonly<Record<string, readonly string[]>>;
  /** Hosts reached over plain HTTP. */
  insecure: readonly string[];
  /** `os/arch[/variant]` to check in a multi-platform image; empty: every linux platform. */
  platforms: readonly string[];
  /** How long a tag's digest is trusted, in ms. */
  tagTTL: number;
  /** PEM of extra CAs to trust (tests; in a cluster NODE_EXTRA_CA_CERTS does the same). */
  ca?: string;
  /** A shared fetch gives up after this long even when nobody waits for it any more. */
  fetchTimeout?: number;
  metrics?: RegistryMetrics;
}

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const DIGEST_CACHE_ENTRIES = 2000;
const DEFAULT_FETCH_TIMEOUT = 15_000;
/** A failed lookup is not retried for this long: a registry that is down must not cost every request its budget. */
const FAILURE_TTL = 10_000;

interface Fetched {
  digest: string;
  json: JsonObject;
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function parseJson(body: Buffer, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InspectionError(`${what} is not JSON`, 'invalid');
  }
  if (!isObject(value)) throw new InspectionError(`${what} is not a JSON object`, 'invalid');
  return value;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function platformName(platform: JsonObject): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => typeof part === 'string' && part !== '').join('/');
}

/**
 * Reads image configs over the OCI Distribution API: manifest (index or image), then each platform's
 * config blob. Caches manifests and configs by digest (immutable, bounded LRU) and tags by TTL; concurrent
 * inspections of one image share one fetch.
 */
export class RegistryClient {
  readonly #options: RegistryClientOptions;
  readonly #byDigest = new LRUCache<string, Fetched>({ max: DIGEST_CACHE_ENTRIES });
  readonly #byTag: LRUCache<string, string>;
  readonly #tokens = new LRUCache<string, string>({ max: 500, ttl: 60_000 });
  readonly #inFlight = new Map<string, Promise<Inspected>>();
  readonly #failures = new LRUCache<string, InspectionError>({ max: 1000, ttl: FAILURE_TTL });
  /** Whole inspections, for the tag TTL: a warm lookup costs no promise chain, no session and no timer. */
  readonly #results: LRUCache<string, Inspected>;

  constructor(options: RegistryClientOptions) {
    this.#options = options;
    this.#byTag = new LRUCache<string, string>({ max: DIGEST_CACHE_ENTRIES, ttl: Math.max(options.tagTTL, 1) });
    this.#results = new LRUCache<string, Inspected>({ max: DIGEST_CACHE_ENTRIES, ttl: Math.max(options.tagTTL, 1) });
  }

  /**
   * The image's Entrypoint and Cmd on every platform it has (filtered by `platforms`). Waits at most until
   * `signal` aborts; the shared fetch goes on for whoever asks next, so its result still lands in the cache.
   */
  inspect(image: string, signal: AbortSignal, extraCredentials?: CredentialStore): Promise<Inspected> {
    let key: string;
    try {
      key = this.#key(image, extraCredentials);
    } catch (error) {
      return Promise.reject(new InspectionError(error instanceof Error ? error.message : String(error), 'invalid'));
    }
    const cached = this.cached(image, extraCredentials);
    if (cached !== undefined) return Promise.resolve(cached);
    const failure = this.#failures.get(key);
    if (failure !== undefined) return Promise.reject(failure);
    let shared = this.#inFlight.get(key);
    if (shared === undefined) {
      const reference = parseReference(image);
      const started = this.#resolve(
        image,
        reference,
        extraCredentials,
        AbortSignal.timeout(this.#options.fetchTimeout ?? DEFAULT_FETCH_TIMEOUT),
      );
      shared = started
        .then((inspected) => {
          this.#results.set(key, inspected);
          return inspected;
        })
        .catch((error: unknown) => {
          const failed =
            error instanceof InspectionError ? error : new InspectionError(error instanceof Error ? error.message : String(error), 'error');
          this.#failures.set(key, failed);
          throw failed;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, shared);
    }
    return raceAbort(shared, signal);
  }

  /** A result still fresh in the cache (tags within their TTL), without any I/O or timer: the common case at admission. */
  cached(image: string, extraCredentials?: CredentialStore): Inspected | undefined {
    let key: string;
    try {
      key = this.#key(image, extraCredentials);
    } catch {
      return undefined;
    }
    const hit = this.#results.get(key);
    if (hit !== undefined) this.#options.metrics?.cacheHits.inc({ cache: image.includes('@') ? 'digest' : 'tag' });
    return hit;
  }

  #key(image: string, extraCredentials: CredentialStore | undefined): string {
    const credentials =
      extraCredentials === undefined
        ? ''
        : [...extraCredentials].map(([host, { username, password }]) => `${host}=${username}:${password}`).join(',');
    return `${formatReference(parseReference(image))}\u0000${credentials === '' ? '' : createHash('sha256').update(credentials).digest('hex')}`;
  }

  async #resolve(image: string, reference: ImageReference, extra: CredentialStore | undefined, signal: AbortSignal): Promise<Inspected> {
    const endpoints = [...(this.#options.mirrors[reference.registry] ?? []), apiHost(reference.registry)];
    let lastError: unknown;
    for (const host of endpoints) {
      try {
        const session = new Session(
          this.#options,
          this.#tokens,
          host,
          reference.repository,
          credentialsFor(host, reference.registry, this.#options.credentials, extra),
          signal,
        );
        return await this.#inspectAt(session, image, reference);
      } catch (error) {
        lastError = error;
        if (error instanceof InspectionError && error.kind === 'timeout') break;
      }
    }
    throw lastError;
  }

  async #inspectAt(session: Session, image: string, reference: ImageReference): Promise<Inspected> {
    const top = await this.#manifest(session, reference);
    const mediaType = top.json.mediaType;
    if (mediaType === OCI_INDEX || mediaType === DOCKER_LIST || Array.isArray(top.json.manifests)) {
      const entries = this.#selectedPlatforms(top.json);
      if (entries.length === 0) throw new InspectionError(`${image} has no ${this.#platformsText()} image`, 'not-found');
      const platforms = await Promise.all(
        entries.map(async ({ digest, platform }) =>
          this.#platformConfig(session, await this.#manifest(session, reference, digest), platform),
        ),
      );
      return { status: 'inspected', reference: image, digest: top.digest, platforms };
    }
    const config = await this.#platformConfig(session, top, undefined);
    if (!this.#platformWanted(config.platform))
      throw new InspectionError(`${image} is ${config.platform}, not ${this.#platformsText()}`, 'not-found');
    return { status: 'inspected', reference: image, digest: top.digest, platforms: [config] };
  }

  #platformsText(): string {
    return this.#options.platforms.length === 0 ? 'linux' : this.#options.platforms.join(' or ');
  }

  #platformWanted(platform: string): boolean {
    const wanted = this.#options.platforms;
    if (wanted.length === 0) return platform.startsWith('linux/');
    return wanted.some((name) => platform === name || platform.startsWith(`${name}/`));
  }

  /** An index's entries for the wanted platforms (attestation manifests say `unknown/unknown` and drop out). */
  #selectedPlatforms(index: JsonObject): { digest: string; platform: string }[] {
    const selected: { digest: string; platform: string }[] = [];
    for (const entry of Array.isArray(index.manifests) ? index.manifests.filter(isObject) : []) {
      const platform = isObject(entry.platform) ? platformName(entry.platform) : '';
      if (typeof entry.digest === 'string' && this.#platformWanted(platform)) selected.push({ digest: entry.digest, platform });
    }
    return selected;
  }

  async #platformConfig(session: Session, manifest: Fetched, indexPlatform: string | undefined): Promise<ImagePlatformConfig> {
    const descriptor = manifest.json.config;
    if (!isObject(descriptor) || typeof descriptor.digest !== 'string') {
      throw new InspectionError(`manifest ${manifest.digest} has no config (Docker schema 1 manifests are not supported)`, 'invalid');
    }
    const blob = await this.#cached(session, descriptor.digest, async () => {
      const response = await session.get(`blobs/${descriptor.digest as string}`, {}, MAX_CONFIG_BYTES);
      return { digest: verified(response.body, descriptor.digest as string, 'config'), json: parseJson(response.body, 'image config') };
    });
    const config = isObject(blob.json.config) ? blob.json.config : {};
    return {
      platform: indexPlatform ?? platformName(blob.json),
      digest: manifest.digest,
      entrypoint: stringArray(config.Entrypoint),
      cmd: stringArray(config.Cmd),
    };
  }

  /** A manifest by the reference's tag or digest, or by `digest` (an index's entry). */
  async #manifest(session: Session, reference: ImageReference, digest?: string): Promise<Fetched> {
    const wanted = digest ?? manifestReference(reference);
    const tagKey = `${session.repositoryKey}:${wanted}`;
    const knownDigest = wanted.includes(':') ? wanted : this.#byTag.get(tagKey);
    if (knownDigest !== undefined && !wanted.includes(':')) this.#options.metrics?.cacheHits.inc({ cache: 'tag' });
    const fetchManifest = async (): Promise<Fetched> => {
      const response = await session.get(`manifests/${knownDigest ?? wanted}`, { Accept: MANIFEST_ACCEPT }, MAX_MANIFEST_BYTES);
      const actual = knownDigest === undefined ? sha256(response.body) : verified(response.body, knownDigest, 'manifest');
      return { digest: actual, json: parseJson(response.body, 'manifest') };
    };
    const fetched = knownDigest === undefined ? await fetchManifest() : await this.#cached(session, knownDigest, fetchManifest);
    if (knownDigest === undefined) {
      this.#byTag.set(tagKey, fetched.digest);
      this.#byDigest.set(`${session.repositoryKey}@${fetched.digest}`, fetched);
    }
    return fetched;
  }

  async #cached(session: Session, digest: string, load: () => Promise<Fetched>): Promise<Fetched> {
    const key = `${session.repositoryKey}@${digest}`;
    const hit = this.#byDigest.get(key);
    if (hit !== undefined) {
      this.#options.metrics?.cacheHits.inc({ cache: 'digest' });
      return hit;
    }
    const loaded = await load();
    this.#byDigest.set(key, loaded);
    return loaded;
  }
}

function verified(body: Buffer, digest: string, what: string): string {
  if (digest.startsWith('sha256:') && sha256(body) !== digest)
    throw new InspectionError(`${what} does not match its digest ${digest}`, 'invalid');
  return digest;
}

function credentialsFor(
  host: string,
  registry: string,
  store: CredentialStore,
  extra: CredentialStore | undefined,
): Credentials | undefined {
  return extra?.get(host) ?? extra?.get(registry) ?? store.get(host) ?? store.get(registry);
}

/** Resolves with `promise`, or rejects as a timeout as soon as `signal` aborts; the promise itself goes on. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new InspectionError('time budget exhausted', 'timeout'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new InspectionError('time budget exhausted', 'timeout'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Requests to one repository on one host, with the authorization its challenges ask for. */
class Session {
  /** Cache key of the repository as this session's credentials see it. */
  readonly repositoryKey: string;

  constructor(
    private readonly options: RegistryClientOptions,
    private readonly tokens: LRUCache<string, string>,
    private readonly host: string,
    private readonly repository: string,
    private readonly credentials: Credentials | undefined,
    private readonly signal: AbortSignal,
  ) {
    // Cached answers are kept per identity: what one pull secret may read is not served to a request without it.
    const identity =
      credentials === undefined
        ? ''
        : `#${createHash('sha256').update(`${credentials.username}:${credentials.password}`).digest('hex').slice(0, 16)}`;
    this.repositoryKey = `${host}/${repository}${identity}`;
  }

  #url(path: string): URL {
    const scheme = this.options.insecure.includes(this.host) ? 'http' : 'https';
    return new URL(`${scheme}://${this.host}/v2/${this.repository}/${path}`);
  }

  /** One registry call, timed and counted by outcome. */
  async #call(url: URL, headers: Record<string, string>, maxBytes: number): Promise<HttpResponse> {
    const stop = this.options.metrics?.latency.startTimer();
    let outcome = 'error';
    try {
      const response = await httpGet(url, {
        headers,
        signal: this.signal,
        maxBytes,
        ...(this.options.ca === undefined ? {} : { ca: this.options.ca }),
      });
      outcome =
        response.status < 400
          ? 'ok'
          : response.status === 401 || response.status === 403
            ? 'unauthorized'
            : response.status === 404
              ? 'not-found'
              : 'error';
      return response;
    } catch (error) {
      if (error instanceof HttpError) {
        outcome = error.kind === 'too-large' ? 'invalid' : error.kind;
        throw new InspectionError(error.message, error.kind === 'too-large' ? 'invalid' : error.kind);
      }
      throw error;
    } finally {
      stop?.();
      this.options.metrics?.requests.inc({ outcome });
    }
  }

  async get(path: string, headers: Record<string, string>, maxBytes: number): Promise<HttpResponse> {
    const url = this.#url(path);
    const tokenKey = `${this.host}\u0000${this.repository}\u0000${this.credentials?.username ?? ''}`;
    const cached = this.tokens.get(tokenKey);
    let response = await this.#call(url, { ...headers, ...(cached === undefined ? {} : { Authorization: cached }) }, maxBytes);
    if (response.status === 401) {
      const authorization = await this.#authorize(response);
      this.tokens.set(tokenKey, authorization);
      response = await this.#call(url, { ...headers, Authorization: authorization }, maxBytes);
    }
    if (response.status === 401 || response.status === 403) {
      throw new InspectionError(
        `${this.host} refused access to ${this.repository} (${response.status}${this.credentials === undefined ? ', no credentials for this registry' : ''})`,
        'unauthorized',
      );
    }
    if (response.status === 404)
      throw new InspectionError(
        `${this.host}/${this.repository}: ${path.replace(/\/.*/, '')} ${path.slice(path.indexOf('/') + 1)} not found`,
        'not-found',
      );
    if (response.status >= 300) throw new InspectionError(`${this.host} answered ${response.status} for ${path}`, 'error');
    return response;
  }

  /** The Authorization header a 401's challenge asks for: a bearer token from the realm, or basic credentials. */
  async #authorize(response: HttpResponse): Promise<string> {
    // Node joins a repeated WWW-Authenticate into one string.
    const challenge = parseChallenge(response.headers['www-authenticate'] ?? '');
    const basic =
      this.credentials === undefined
        ? undefined
        : `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (challenge?.scheme === 'basic' && basic !== undefined) return basic;
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) {
      throw new InspectionError(
        `${this.host} asks for credentials (401${this.credentials === undefined ? ', none configured for this registry' : ''})`,
        'unauthorized',
      );
    }
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm);
    } catch {
      throw new InspectionError(`${this.host} sent an invalid token realm`, 'invalid');
    }
    // Credentials go to a token endpoint over HTTPS only, unless the policy names its host as insecure.
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && this.options.insecure.includes(realm.host))) {
      throw new InspectionError(`${this.host} sent a token realm that is not HTTPS (${realm.protocol}//${realm.host})`, 'invalid');
    }
    if (challenge.params.service !== undefined) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', challenge.params.scope ?? `repository:${this.repository}:pull`);
    const tokenResponse = await this.#call(realm, basic === undefined ? {} : { Authorization: basic }, 1024 * 1024);
    if (tokenResponse.status !== 200) {
      throw new InspectionError(
        `token endpoint ${realm.host} refused access to ${this.repository} (${tokenResponse.status})`,
        'unauthorized',
      );
    }
    const body = parseJson(tokenResponse.body, 'token response');
    const token = typeof body.token === 'string' ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') throw new InspectionError(`token endpoint ${realm.host} sent no token`, 'invalid');
    return `Bearer ${token}`;
  }
}
