// Real registries on loopback for the image tests (not a test file itself): Debian's Distribution
// registry with TLS from a test CA, htpasswd (basic) or token (bearer) auth, a token endpoint, and
// images pushed through the registry HTTP API.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateBundle } from '../../src/tls/certificates.js';
import { generateCertificates } from '../../src/tls/generate.js';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const USER = { username: 'alice', password: 'wonderland' };
const TOKEN_SERVICE = 'lifecycle-guard-test-registry';
const TOKEN_ISSUER = 'lifecycle-guard-test-issuer';

/** Installs the registry and htpasswd when missing (apt-get, as root); see ensure-registry.sh. */
export function ensureRegistryInstalled(): void {
  execFileSync('bash', [join(import.meta.dirname, 'ensure-registry.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

let pki: Promise<CertificateBundle> | undefined;
/** One test CA and a serving certificate for 127.0.0.1, shared by every server of a test run. */
export function testPki(): Promise<CertificateBundle> {
  pki ??= generateCertificates({ hosts: ['127.0.0.1', 'localhost'], validityDays: 2 });
  return pki;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(url: string, ca: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('http:') ? httpRequest : request;
    const req = send(
      url,
      { method: options.method ?? 'GET', headers: options.headers, ...(url.startsWith('http:') ? {} : { ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function base64url(value: Buffer | string): string {
  return Buffer.from(value).toString('base64url');
}

/** A registry token (JWT, ES256) as the registry's token auth verifies it: signed by the key of a certificate in its rootcertbundle. */
function mintToken(signer: { cert: string; key: string }, access: { type: string; name: string; actions: string[] }[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [new X509Certificate(signer.cert).raw.toString('base64')] };
  const claims = { iss: TOKEN_ISSUER, sub: 'test', aud: TOKEN_SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}

export interface TokenServer {
  realm: string;
  /** Token requests served so far. */
  requests: number;
  stop(): Promise<void>;
}

/**
 * The bearer flow's token endpoint: anonymous callers get `pull` on every repository except `private/*`;
 * USER gets `pull` on all; a wrong password is refused.
 */
async function startTokenServer(bundle: CertificateBundle): Promise<TokenServer> {
  const state = { requests: 0 };
  const server: Server = createHttpsServer({ cert: bundle.serving.cert, key: bundle.serving.key }, (req, res) => {
    state.requests += 1;
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const authorization = req.headers.authorization;
    let user: string | undefined;
    if (authorization !== undefined) {
      const [name, password] = Buffer.from(authorization.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      if (name !== USER.username || password !== USER.password) {
        res.writeHead(401).end('{"details":"wrong credentials"}');
        return;
      }
      user = name;
    }
    const access = url.searchParams
      .getAll('scope')
      .map((scope) => scope.split(':'))
      .filter(([type, name]) => type === 'repository' && name !== undefined && (user !== undefined || !name.startsWith('private/')))
      .map(([type, name]) => ({ type: type ?? '', name: name ?? '', actions: ['pull'] }));
    res
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ token: mintToken(bundle.ca, access), expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `https://127.0.0.1:${port}/token`,
    get requests() {
      return state.requests;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface RunningRegistry {
  /** host:port, as an image reference names it. */
  host: string;
  scheme: 'http' | 'https';
  ca: string;
  /** Authorization header that may push to a repository. */
  pushAuthorization(repository: string): string;
  /** The registry process and its directory, for a watchdog that outlives the test process. */
  pid: number | undefined;
  dir: string;
  tokenServer?: TokenServer;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function waitUntilServing(base: string, ca: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    try {
      const reply = await call(`${base}/v2/`, ca, {});
      if (reply.status === 200 || reply.status === 401) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a registry on 127.0.0.1 with TLS and basic (htpasswd) or bearer (token) auth, or a plain-HTTP one without auth. */
export async function startRegistry(auth: 'htpasswd' | 'token' | 'plain-http'): Promise<RunningRegistry> {
  const bundle = await testPki();
  const dir = mkdtempSync(join(tmpdir(), 'lg-registry-'));
  const port = await freePort();
  writeFileSync(join(dir, 'tls.crt'), bundle.serving.cert);
  writeFileSync(join(dir, 'tls.key'), bundle.serving.key);
  writeFileSync(join(dir, 'token-ca.crt'), bundle.ca.cert);
  let tokenServer: TokenServer | undefined;
  let authConfig: string;
  let pushAuthorization: (repository: string) => string;
  if (auth === 'plain-http') {
    authConfig = '';
    pushAuthorization = () => '';
  } else if (auth === 'htpasswd') {
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', USER.username, USER.password]));
    authConfig = `  htpasswd:\n    realm: lifecycle-guard-test\n    path: ${join(dir, 'htpasswd')}\n`;
    const basic = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
    pushAuthorization = () => basic;
  } else {
    tokenServer = await startTokenServer(bundle);
    authConfig = `  token:\n    realm: ${tokenServer.realm}\n    service: ${TOKEN_SERVICE}\n    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${join(dir, 'token-ca.crt')}\n`;
    pushAuthorization = (repository) =>
      `Bearer ${mintToken(bundle.ca, [{ type: 'repository', name: repository, actions: ['pull', 'push'] }])}`;
  }
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: lifecycle-guard-test\n` +
      (auth === 'plain-http'
        ? ''
        : `  tls:\n    certificate: ${join(dir, 'tls.crt')}\n    key: ${join(dir, 'tls.key')}\nauth:\n${authConfig}`),
  );
  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    running.delete(child);
    // A registry killed by a signal has no exit code, only a signal: it will not exit again.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilServing(`${auth === 'plain-http' ? 'http' : 'https'}://${host}`, bundle.ca.cert, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    ca: bundle.ca.cert,
    pushAuthorization,
    pid: child.pid,
    dir,
    scheme: auth === 'plain-http' ? 'http' : 'https',
    ...(tokenServer === undefined ? {} : { tokenServer }),
    stop,
  };
}

// --- pushing images through the registry API ---

const MEDIA = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export type ManifestFormat = keyof typeof MEDIA;

export interface ImageSpec {
  entrypoint?: string[];
  cmd?: string[];
  architecture?: string;
}

function digestOf(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function authorizationHeader(registry: RunningRegistry, repository: string): Record<string, string> {
  const value = registry.pushAuthorization(repository);
  return value === '' ? {} : { Authorization: value };
}

async function pushBlob(registry: RunningRegistry, repository: string, body: Buffer): Promise<string> {
  const digest = digestOf(body);
  const start = await call(`${registry.scheme}://${registry.host}/v2/${repository}/blobs/uploads/`, registry.ca, {
    method: 'POST',
    headers: authorizationHeader(registry, repository),
  });
  const location = start.headers.location;
  if (start.status !== 202 || typeof location !== 'string')
    throw new Error(`blob upload refused: ${start.status} ${start.body.toString()}`);
  const url = new URL(location, `${registry.scheme}://${registry.host}`);
  url.searchParams.set('digest', digest);
  const done = await call(url.href, registry.ca, {
    method: 'PUT',
    headers: {
      ...authorizationHeader(registry, repository),
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(body.length),
    },
    body,
  });
  if (done.status !== 201) throw new Error(`blob upload failed: ${done.status} ${done.body.toString()}`);
  return digest;
}

async function putManifest(
  registry: RunningRegistry,
  repository: string,
  reference: string,
  mediaType: string,
  manifest: unknown,
): Promise<{ digest: string; size: number }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const reply = await call(`${registry.scheme}://${registry.host}/v2/${repository}/manifests/${reference}`, registry.ca, {
    method: 'PUT',
    headers: { ...authorizationHeader(registry, repository), 'Content-Type': mediaType },
    body,
  });
  if (reply.status !== 201) throw new Error(`manifest push failed: ${reply.status} ${reply.body.toString()}`);
  return { digest: digestOf(body), size: body.length };
}

/** Pushes a one-layer image whose config holds `spec`; tags it when `tag` is given. Returns the manifest's digest. */
export async function pushImage(
  registry: RunningRegistry,
  repository: string,
  tag: string | undefined,
  spec: ImageSpec,
  format: ManifestFormat = 'oci',
) {
  const media = MEDIA[format];
  const layer = Buffer.from(`layer of ${repository} ${JSON.stringify(spec)}`);
  const config = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? 'amd64',
      os: 'linux',
      config: {
        ...(spec.entrypoint === undefined ? {} : { Entrypoint: spec.entrypoint }),
        ...(spec.cmd === undefined ? {} : { Cmd: spec.cmd }),
      },
      rootfs: { type: 'layers', diff_ids: [digestOf(layer)] },
    }),
  );
  const configDigest = await pushBlob(registry, repository, config);
  const layerDigest = await pushBlob(registry, repository, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: media.manifest,
    config: { mediaType: media.config, digest: configDigest, size: config.length },
    layers: [{ mediaType: media.layer, digest: layerDigest, size: layer.length }],
  };
  const pushed = await putManifest(registry, repository, tag ?? digestOf(Buffer.from(JSON.stringify(manifest))), media.manifest, manifest);
  return { ...pushed, mediaType: media.manifest };
}

/** Pushes a multi-platform image (OCI index or Docker manifest list) of one image per architecture. */
export async function pushIndex(
  registry: RunningRegistry,
  repository: string,
  tag: string,
  images: ImageSpec[],
  format: ManifestFormat = 'oci',
) {
  const manifests = [];
  for (const spec of images) {
    const child = await pushImage(registry, repository, undefined, spec, format);
    // `unknown` stands for an attestation manifest, as BuildKit adds them to an index.
    const os = spec.architecture === 'unknown' ? 'unknown' : 'linux';
    manifests.push({
      mediaType: child.mediaType,
      digest: child.digest,
      size: child.size,
      platform: { os, architecture: spec.architecture ?? 'amd64' },
    });
  }
  return putManifest(registry, repository, tag, MEDIA[format].index, { schemaVersion: 2, mediaType: MEDIA[format].index, manifests });
}

/** A TCP server on loopback that accepts connections and never answers. */
export async function startSilentServer(): Promise<{ host: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
