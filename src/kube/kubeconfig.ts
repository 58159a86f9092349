import jsyaml from 'js-yaml';
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * How requests reach the API server and whom they come from: the server's URL, and what one request
 * needs added (TLS material, credentials). Built from a kubeconfig or the in-cluster service account.
 */
export interface ApiServerAccess {
  server: string;
  /** Adds the TLS options and credentials to one request's options. */
  apply(options: RequestOptions): Promise<void>;
}

/** No kubeconfig anywhere: said instead of falling back to http://localhost:8080 as client-node would. */
export class NoKubeConfigError extends Error {
  override name = 'NoKubeConfigError';
}

type Entry = Record<string, unknown>;

/** A kubeconfig's cluster and user entries as written (kebab-case keys), file paths made absolute. */
export interface KubeConfigSelection {
  cluster: Entry;
  user: Entry;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const SERVICE_ACCOUNT_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

/** Keys that name files, resolved against the directory of the kubeconfig that holds them (as kubectl does). */
const PATH_KEYS = new Set(['certificate-authority', 'client-certificate', 'client-key', 'tokenFile']);

/**
 * What lifecycle-guard's own client does with a kubeconfig: bearer tokens (inline or a file, re-read
 * as the kubelet rotates it), client certificates, the cluster's CA, `insecure-skip-tls-verify` and
 * `tls-server-name`. That is the in-cluster service account and most kubeconfigs. Anything else
 * (exec plugins, auth providers, basic auth, proxies) goes to @kubernetes/client-node, loaded only
 * then: loading it costs a replica ~20 MB of memory that a service account never needs.
 */
const OWN_CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
]);
const OWN_USER_KEYS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data']);
/** Keys that change nothing about a request. */
const IGNORED_KEYS = new Set(['extensions', 'disable-compression']);

/** Whether the selected cluster and user need @kubernetes/client-node (see OWN_CLUSTER_KEYS). */
export function needsClientNode({ cluster, user }: KubeConfigSelection): boolean {
  const foreign = (entry: Entry, own: Set<string>) =>
    Object.entries(entry).some(
      ([key, value]) => value !== undefined && value !== null && value !== '' && !own.has(key) && !IGNORED_KEYS.has(key),
    );
  return foreign(cluster, OWN_CLUSTER_KEYS) || foreign(user, OWN_USER_KEYS);
}

function asEntry(value: unknown): Entry {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Entry) : {};
}

function asNamed(value: unknown, what: string, file: string): { name: string; entry: Entry }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${file}: ${what} is not a list`);
  return value.map((item: unknown) => {
    const named = asEntry(item);
    if (typeof named.name !== 'string') throw new Error(`${file}: an entry of ${what} has no name`);
    return { name: named.name, entry: asEntry(named[what.slice(0, -1)]) };
  });
}

function withAbsolutePaths(entry: Entry, base: string): Entry {
  return Object.fromEntries(
    Object.entries(entry).map(([key, value]) => [
      key,
      PATH_KEYS.has(key) && typeof value === 'string' && value !== '' && !isAbsolute(value) ? resolve(base, value) : value,
    ]),
  );
}

/**
 * Reads kubeconfig files in order and merges them as kubectl does: the first file to name a
 * cluster, user or context wins, and so does the first `current-context`.
 */
export function selectFromKubeConfigFiles(files: readonly string[]): KubeConfigSelection {
  const clusters = new Map<string, Entry>();
  const users = new Map<string, Entry>();
  const contexts = new Map<string, Entry>();
  let currentContext: string | undefined;
  for (const file of files) {
    const document = asEntry(jsyaml.load(readFileSync(file, 'utf8'), { schema: jsyaml.CORE_SCHEMA }));
    const base = dirname(resolve(file));
    for (const [what, into] of [
      ['clusters', clusters],
      ['users', users],
      ['contexts', contexts],
    ] as const)
      for (const { name, entry } of asNamed(document[what], what, file))
        if (!into.has(name)) into.set(name, withAbsolutePaths(entry, base));
    const current = document['current-context'];
    if (currentContext === undefined && typeof current === 'string' && current !== '') currentContext = current;
  }
  if (currentContext === undefined) throw new Error(`current-context is not set in ${files.join(', ')}`);
  const context = contexts.get(currentContext);
  if (context === undefined) throw new Error(`context "${currentContext}" not found`);
  const clusterName = typeof context.cluster === 'string' ? context.cluster : '';
  const cluster = clusters.get(clusterName);
  if (cluster === undefined) throw new Error(`cluster "${clusterName}" of context "${currentContext}" not found`);
  if (typeof cluster.server !== 'string' || cluster.server === '') throw new Error(`cluster "${clusterName}" has no server`);
  // A context without a user is anonymous access, as with kubectl.
  return { cluster, user: users.get(typeof context.user === 'string' ? context.user : '') ?? {} };
}

/** The in-cluster service account, as a kubeconfig selection (a CA file and a rotated token file). */
export function inClusterSelection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeConfigSelection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new Error('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set in a Pod');
  return {
    cluster: { server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, 'certificate-authority': join(dir, 'ca.crt') },
    user: { tokenFile: join(dir, 'token') },
  };
}

/** The places kubectl and client-node look, in their order, and what each held. */
function kubeConfigSearch(): { files: string[] | 'in-cluster' | undefined; looked: string[] } {
  const fromEnv = (process.env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  const home = process.env.HOME ? join(process.env.HOME, '.kube', 'config') : undefined;
  const looked = [
    `$KUBECONFIG (${process.env.KUBECONFIG ? process.env.KUBECONFIG : 'not set'})`,
    home === undefined ? '~/.kube/config ($HOME not set)' : `~/.kube/config (${home}: ${existsSync(home) ? 'found' : 'missing'})`,
    `the in-cluster service account (${SERVICE_ACCOUNT_TOKEN}: ${existsSync(SERVICE_ACCOUNT_TOKEN) ? 'found' : 'missing'})`,
  ];
  if (fromEnv.length > 0) {
    // kubectl skips the files of $KUBECONFIG that do not exist; all of them missing is no kubeconfig.
    const existing = fromEnv.filter((file) => existsSync(file));
    return { files: existing.length > 0 ? existing : undefined, looked };
  }
  if (home !== undefined && existsSync(home)) return { files: [home], looked };
  return { files: existsSync(SERVICE_ACCOUNT_TOKEN) ? 'in-cluster' : undefined, looked };
}

/** A kubeconfig file when given, else $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function selectKubeConfig(kubeconfigPath?: string): KubeConfigSelection {
  if (kubeconfigPath !== undefined) return selectFromKubeConfigFiles([kubeconfigPath]);
  const search = kubeConfigSearch();
  if (search.files === undefined)
    throw new NoKubeConfigError(`no kubeconfig found: looked at ${search.looked.join(', ')}; pass --kubeconfig FILE or set KUBECONFIG`);
  return search.files === 'in-cluster' ? inClusterSelection() : selectFromKubeConfigFiles(search.files);
}

/** Data from `<key>-data` (base64) or the file named by `<key>`. */
function material(entry: Entry, key: string): Buffer | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
  const file = entry[key];
  return typeof file === 'string' && file !== '' ? readFileSync(file) : undefined;
}

/** How long a token file is trusted before it is read again: the kubelet rotates projected tokens well before they expire. */
const TOKEN_FILE_TTL_MS = 60_000;

/** Access with lifecycle-guard's own client: TLS material read once, a token file re-read every minute. */
function ownAccess({ cluster, user }: KubeConfigSelection, server: string, now: () => number): ApiServerAccess {
  const tls: RequestOptions = {};
  const ca = material(cluster, 'certificate-authority');
  if (ca !== undefined) tls.ca = ca;
  const cert = material(user, 'client-certificate');
  const key = material(user, 'client-key');
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  if (typeof cluster['tls-server-name'] === 'string' && cluster['tls-server-name'] !== '') tls.servername = cluster['tls-server-name'];
  const tokenFile = typeof user.tokenFile === 'string' && user.tokenFile !== '' ? user.tokenFile : undefined;
  let token = typeof user.token === 'string' && user.token !== '' ? user.token : undefined;
  let tokenRead = 0;
  const readTokenFile = (file: string) => {
    token = readFileSync(file, 'utf8').trim();
    tokenRead = now();
  };
  // A missing token file is an error at start, not at the first request.
  if (tokenFile !== undefined) readTokenFile(tokenFile);
  const currentToken = (): string | undefined => {
    if (tokenFile !== undefined && now() - tokenRead >= TOKEN_FILE_TTL_MS) {
      try {
        readTokenFile(tokenFile);
      } catch {
        // Unreadable for a moment (the kubelet swaps it): the last token read stays until the file can be read again, as in client-go.
      }
    }
    return token;
  };
  return {
    server,
    apply(options) {
      Object.assign(options, tls);
      const bearer = currentToken();
      if (bearer !== undefined) options.headers = { ...options.headers, authorization: `Bearer ${bearer}` };
      return Promise.resolve();
    },
  };
}

/** Access through @kubernetes/client-node's KubeConfig, for what the own client does not do (exec plugins, auth providers, proxies). */
function clientNodeAccess({ cluster, user }: KubeConfigSelection, server: string): ApiServerAccess {
  const loaded = import('./client-node.js').then(({ KubeConfig }) => {
    const config = new KubeConfig();
    config.loadFromString(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'selected', cluster }],
        users: [{ name: 'selected', user }],
        contexts: [{ name: 'selected', context: { cluster: 'selected', user: 'selected' } }],
        'current-context': 'selected',
      }),
    );
    return config;
  });
  // Load failures surface at the first request, as the API server being unreachable would.
  loaded.catch(() => undefined);
  return {
    server,
    apply: async (options) => (await loaded).applyToHTTPSOptions(options),
  };
}

/** The access a kubeconfig selection describes. */
export function apiServerAccess(selection: KubeConfigSelection, now: () => number = Date.now): ApiServerAccess {
  const server = String(selection.cluster.server).replace(/\/+$/, '');
  return needsClientNode(selection) ? clientNodeAccess(selection, server) : ownAccess(selection, server, now);
}

/** The access of a kubeconfig file when given, else of $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function loadApiServerAccess(kubeconfigPath?: string): ApiServerAccess {
  return apiServerAccess(selectKubeConfig(kubeconfigPath));
}
