// A real Kubernetes control plane for the end-to-end suite, in the style of
// controller-runtime's envtest: one etcd + one kube-apiserver, both on
// 127.0.0.1 only, no kube-controller-manager, no scheduler, no kubelet.
//
// What that means for tests:
//  - Objects are stored and validated, admission (incl. webhooks) runs, RBAC is
//    enforced; nothing reconciles: Deployments never get ReplicaSets/Pods,
//    Pods stay Pending, namespaces deleted stay Terminating, there is no GC and
//    no "default" ServiceAccount in any namespace (the ServiceAccount admission
//    plugin is disabled so Pods can still be created).
//  - Only default, kube-system, kube-public and kube-node-lease exist at start;
//    create any other namespace explicitly.
//  - Admission webhooks must be registered with clientConfig.url
//    (e.g. https://127.0.0.1:<port>/mutate): there are no Service endpoints.
//
// Binaries come from test/e2e/build-binaries.sh (or KUBE_APISERVER / ETCD /
// KUBECTL env vars), see resolveBinaries().

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, constants as fsConstants, accessSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate as generateCert } from 'selfsigned';

const HERE = dirname(fileURLToPath(import.meta.url));
const E2E_DIR = resolve(HERE, '..');
const LOCALHOST = '127.0.0.1';

// ---------------------------------------------------------------- binaries

export interface Binaries {
  kubeApiserver: string;
  etcd: string;
  kubectl: string;
}

/** The k8s.io/kubernetes version pinned in test/e2e/tools/go.mod, e.g. "v1.37.2". */
export function pinnedKubernetesVersion(): string {
  const gomod = readFileSync(join(E2E_DIR, 'tools', 'go.mod'), 'utf8');
  const m = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(gomod);
  if (!m?.[1]) throw new Error('cannot find the k8s.io/kubernetes version in test/e2e/tools/go.mod');
  return m[1];
}

/** Directory build-binaries.sh writes to: $XDG_CACHE_HOME/lifecycle-guard/e2e/<k8s-version>. */
export function binaryCacheDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'lifecycle-guard', 'e2e', pinnedKubernetesVersion());
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds kube-apiserver, etcd and kubectl: the KUBE_APISERVER / ETCD / KUBECTL
 * env vars if set, otherwise the build-binaries.sh cache directory. Throws
 * with a hint to run test/e2e/build-binaries.sh if one is missing. Never falls
 * back to PATH (on some machines `kubectl` there is a cloud-SDK wrapper).
 */
export function resolveBinaries(): Binaries {
  const dir = binaryCacheDir();
  const pick = (envVar: string, name: string): string => {
    const fromEnv = process.env[envVar];
    const path = fromEnv ? resolve(fromEnv) : join(dir, name);
    if (!isExecutable(path)) {
      throw new Error(
        `${name} not found at ${path}${fromEnv ? ` (from ${envVar})` : ''}; ` +
          `run \`bash test/e2e/build-binaries.sh\` (or set ${envVar}) first`,
      );
    }
    return path;
  };
  return {
    kubeApiserver: pick('KUBE_APISERVER', 'kube-apiserver'),
    etcd: pick('ETCD', 'etcd'),
    kubectl: pick('KUBECTL', 'kubectl'),
  };
}

// ---------------------------------------------------------------- public API

export interface UserSpec {
  /** User name as the apiserver sees it (e.g. "alice" or "system:serviceaccount:ns:sa"). */
  name: string;
  groups?: string[];
  /** Defaults to a random token. */
  token?: string;
}

export interface ControlPlaneOptions {
  /** Extra token-authenticated users (besides the system:masters admin). */
  users?: UserSpec[];
  /** Extra kube-apiserver flags, appended after the defaults (later flags win). */
  apiserverArgs?: string[];
  /** Extra etcd flags. */
  etcdArgs?: string[];
  /** How long to wait for etcd + apiserver to become ready. Default 120 s. */
  startTimeoutMs?: number;
  /** Override binary locations (defaults to resolveBinaries()). */
  binaries?: Partial<Binaries>;
  /** Keep the temp dir (certs, logs, etcd data) after stop(); also E2E_KEEP_TMP=1. */
  keepTmpDir?: boolean;
  /** Default timeout for kubectl() calls. Default 60 s. */
  kubectlTimeoutMs?: number;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  input?: string;
  /** Don't throw on a non-zero exit code. */
  allowFail?: boolean;
  /** Use another kubeconfig (e.g. from kubeconfigFor()). */
  kubeconfigPath?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Temp dir holding certs, kubeconfig, logs and the etcd data dir. */
  dir: string;
  /** Admin kubeconfig (system:masters, bearer token). */
  kubeconfigPath: string;
  /** e.g. https://127.0.0.1:41234 */
  serverUrl: string;
  etcdUrl: string;
  /** CA that signed the apiserver serving cert (PEM). */
  caCertPem: string;
  /** Admin bearer token (user "admin", group system:masters). */
  token: string;
  /** Tokens of the extra users from options.users, by name. */
  userTokens: Record<string, string>;
  apiserverLogPath: string;
  etcdLogPath: string;
  binaries: Binaries;
  /** Environment for child processes that should talk to this cluster (KUBECONFIG set). */
  env: NodeJS.ProcessEnv;
  /** Runs the real kubectl against this cluster. Throws on non-zero exit unless allowFail. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Writes (once) and returns a kubeconfig for one of options.users. */
  kubeconfigFor(userName: string): Promise<string>;
  /** Kills apiserver + etcd (SIGTERM, then SIGKILL) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- process bookkeeping

interface Tracked {
  procs: ChildProcess[];
  dir: string;
  keepDir: boolean;
}
const live = new Set<Tracked>();
let handlersInstalled = false;

function killAllNow(): void {
  for (const t of live) {
    for (const p of t.procs) {
      if (p.exitCode === null && p.signalCode === null) {
        try {
          p.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    if (!t.keepDir) {
      try {
        rmSync(t.dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
}

function uninstallExitHandlersIfIdle(): void {
  if (!handlersInstalled || live.size > 0) return;
  handlersInstalled = false;
  process.off('exit', killAllNow);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
}

/**
 * A detached watchdog that SIGKILLs the given pids (and removes the temp dir)
 * once this node process is gone, even if it died from SIGKILL and never ran
 * its exit handlers. Killed on a normal stop().
 */
function startWatchdog(pids: number[], dir: string, keepDir: boolean): ChildProcess {
  const script = [
    'parent="$1"; dir="$2"; keep="$3"; shift 3',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'kill -9 "$@" 2>/dev/null',
    '[ "$keep" = 1 ] || rm -rf "$dir"',
  ].join('\n');
  const wd = spawn(
    '/bin/sh',
    ['-c', script, 'lifecycle-guard-e2e-watchdog', String(process.pid), dir, keepDir ? '1' : '0', ...pids.map(String)],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  wd.unref();
  return wd;
}

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Keep all traffic on loopback: never let the apiserver (webhook calls) or
  // kubectl go through a proxy configured on the machine.
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) delete env[k];
  env.NO_PROXY = env.no_proxy = '127.0.0.1,localhost';
  return { ...env, ...extra };
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (exited(p)) return Promise.resolve(true);
  return new Promise((res) => {
    const timer = setTimeout(() => {
      p.off('exit', onExit);
      res(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      res(true);
    };
    p.once('exit', onExit);
  });
}

async function terminate(p: ChildProcess, graceMs: number): Promise<void> {
  if (exited(p)) return;
  p.kill('SIGTERM');
  if (await waitExit(p, graceMs)) return;
  p.kill('SIGKILL');
  await waitExit(p, 5_000);
}

// ---------------------------------------------------------------- helpers

/** A currently free TCP port on 127.0.0.1 (bind :0, read, close). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, LOCALHOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? res(port) : rej(new Error('could not get a free port'))));
    });
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(path: string, lines = 60): string {
  try {
    const all = readFileSync(path, 'utf8').split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface HttpResult {
  status: number;
  body: string;
}

function httpGet(url: string, opts: { ca?: string; token?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((res, rej) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', headers, ca: opts.ca, timeout: opts.timeoutMs ?? 5_000, agent: false },
      (resp) => {
        let body = '';
        resp.setEncoding('utf8');
        resp.on('data', (c: string) => (body += c));
        resp.on('end', () => res({ status: resp.statusCode ?? 0, body }));
        resp.on('error', rej);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

async function waitFor(
  what: string,
  deadline: number,
  proc: ChildProcess,
  logPath: string,
  probe: () => Promise<string | true>,
): Promise<void> {
  let last: string;
  for (;;) {
    if (exited(proc)) {
      console.error(`[control-plane] ${what} exited early; last log lines of ${logPath}:\n${tail(logPath)}`);
      throw new Error(
        `${what} exited early (code ${proc.exitCode}, signal ${proc.signalCode}); last log lines of ${logPath}:\n${tail(logPath)}`,
      );
    }
    try {
      const r = await probe();
      if (r === true) return;
      last = r;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) {
      console.error(`[control-plane] ${what} did not become ready; last log lines of ${logPath}:\n${tail(logPath)}`);
      throw new Error(`${what} not ready in time (last probe: ${last.slice(0, 2000)}); last log lines of ${logPath}:\n${tail(logPath)}`);
    }
    await sleep(250);
  }
}

function csvField(s: string): string {
  if (/[",\n]/.test(s)) throw new Error(`unsupported character in token-file field: ${JSON.stringify(s)}`);
  return s;
}

function kubeconfigYaml(server: string, caPem: string, user: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  // JSON is valid YAML and needs no escaping rules of its own.
  return (
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': ca } }],
        users: [{ name: user, user: { token } }],
        contexts: [{ name: 'e2e', context: { cluster: 'e2e', user, namespace: 'default' } }],
        'current-context': 'e2e',
        preferences: {},
      },
      null,
      2,
    ) + '\n'
  );
}

function runProcess(
  cmd: string,
  args: string[],
  opts: { input?: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<KubectlResult> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, opts.timeoutMs);
    p.on('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(killed after ${opts.timeoutMs} ms timeout)`;
      res({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    p.stdin.on('error', () => {
      /* EPIPE if the process exits without reading stdin */
    });
    p.stdin.end(opts.input ?? '');
  });
}

// ---------------------------------------------------------------- startControlPlane

/**
 * Starts etcd + kube-apiserver on free 127.0.0.1 ports and waits until the
 * apiserver's /readyz is ok and the default namespace exists.
 *
 * @example
 *   const cp = await startControlPlane();
 *   try {
 *     await cp.kubectl(['create', 'namespace', 'demo']);
 *     const { stdout } = await cp.kubectl(['get', 'ns', 'demo', '-o', 'json']);
 *   } finally {
 *     await cp.stop();
 *   }
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const given = opts.binaries ?? {};
  const resolved: Binaries =
    given.kubeApiserver && given.etcd && given.kubectl
      ? { kubeApiserver: given.kubeApiserver, etcd: given.etcd, kubectl: given.kubectl }
      : (() => {
          const found = resolveBinaries();
          return {
            kubeApiserver: given.kubeApiserver ?? found.kubeApiserver,
            etcd: given.etcd ?? found.etcd,
            kubectl: given.kubectl ?? found.kubectl,
          };
        })();
  const keepDir = opts.keepTmpDir ?? process.env.E2E_KEEP_TMP === '1';
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const kubectlTimeoutMs = opts.kubectlTimeoutMs ?? 60_000;

  const dir = await mkdtemp(join(tmpdir(), 'lifecycle-guard-e2e-'));
  const tracked: Tracked = { procs: [], dir, keepDir };
  live.add(tracked);
  installExitHandlers();

  let watchdog: ChildProcess | undefined;
  const stopAll = async (): Promise<void> => {
    // apiserver first (it talks to etcd), then etcd.
    for (const p of [...tracked.procs].reverse()) await terminate(p, 10_000);
    if (watchdog && !exited(watchdog)) watchdog.kill('SIGKILL');
    live.delete(tracked);
    uninstallExitHandlersIfIdle();
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // --- PKI
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir, { recursive: true });
    const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
    const notAfterDate = new Date(Date.now() + 7 * 24 * 60 * 60 * 1000);
    const ca = await generateCert([{ name: 'commonName', value: 'lifecycle-guard-e2e-ca' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    const serving = await generateCert([{ name: 'commonName', value: 'kube-apiserver' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate,
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 2, value: 'kubernetes' },
            { type: 2, value: 'kubernetes.default' },
            { type: 2, value: 'kubernetes.default.svc' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const caCertPath = join(pkiDir, 'ca.crt');
    const servingCertPath = join(pkiDir, 'apiserver.crt');
    const servingKeyPath = join(pkiDir, 'apiserver.key');
    const saPubPath = join(pkiDir, 'sa.pub');
    const saKeyPath = join(pkiDir, 'sa.key');
    await writeFile(caCertPath, ca.cert, { mode: 0o600 });
    await writeFile(servingCertPath, serving.cert, { mode: 0o600 });
    await writeFile(servingKeyPath, serving.private, { mode: 0o600 });
    await writeFile(saPubPath, sa.publicKey, { mode: 0o600 });
    await writeFile(saKeyPath, sa.privateKey, { mode: 0o600 });

    // --- static tokens: token,user,uid,"group1,group2"
    const token = randomBytes(24).toString('hex');
    const userTokens: Record<string, string> = {};
    const tokenLines = [`${token},admin,admin,"system:masters"`];
    for (const [i, u] of (opts.users ?? []).entries()) {
      const t = u.token ?? randomBytes(24).toString('hex');
      userTokens[u.name] = t;
      const groups = (u.groups ?? []).map(csvField).join(',');
      tokenLines.push(`${csvField(t)},${csvField(u.name)},e2e-user-${i}${groups ? `,"${groups}"` : ''}`);
    }
    const tokenFile = join(pkiDir, 'tokens.csv');
    await writeFile(tokenFile, tokenLines.join('\n') + '\n', { mode: 0o600 });

    // --- ports
    const [etcdClientPort, etcdPeerPort, securePort] = (await distinctFreePorts(3)) as [number, number, number];
    const etcdUrl = `http://${LOCALHOST}:${etcdClientPort}`;
    const serverUrl = `https://${LOCALHOST}:${securePort}`;
    const deadline = Date.now() + startTimeoutMs;

    // --- etcd
    const etcdLogPath = join(dir, 'etcd.log');
    const etcdLogFd = openSync(etcdLogPath, 'a');
    const etcdPeerUrl = `http://${LOCALHOST}:${etcdPeerPort}`;
    const etcd = spawn(
      resolved.etcd,
      [
        '--name=e2e',
        `--data-dir=${join(dir, 'etcd-data')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=e2e=${etcdPeerUrl}`,
        '--initial-cluster-state=new',
        // Test data only: skip fsync, it is the slowest part of etcd on CI disks.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
        ...(opts.etcdArgs ?? []),
      ],
      { env: childEnv(), stdio: ['ignore', etcdLogFd, etcdLogFd] },
    );
    closeSync(etcdLogFd);
    tracked.procs.push(etcd);
    // Don't let a forgotten stop() keep the test process alive: the 'exit'
    // handler kills unref'd children when the process ends.
    etcd.unref();
    etcd.on('error', () => {
      /* reported through waitFor (exitCode set) */
    });
    await waitFor('etcd', deadline, etcd, etcdLogPath, async () => {
      const r = await httpGet(`${etcdUrl}/health`);
      return r.status === 200 && /"health":\s*"true"/.test(r.body) ? true : `${r.status} ${r.body}`;
    });

    // --- kube-apiserver
    const apiserverLogPath = join(dir, 'kube-apiserver.log');
    const apiLogFd = openSync(apiserverLogPath, 'a');
    const apiserver = spawn(
      resolved.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        `--bind-address=${LOCALHOST}`,
        `--advertise-address=${LOCALHOST}`,
        `--secure-port=${securePort}`,
        `--tls-cert-file=${servingCertPath}`,
        `--tls-private-key-file=${servingKeyPath}`,
        `--client-ca-file=${caCertPath}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${serverUrl}`,
        `--service-account-key-file=${saPubPath}`,
        `--service-account-signing-key-file=${saKeyPath}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // No controller-manager creates "default" ServiceAccounts, so Pods would be rejected.
        '--disable-admission-plugins=ServiceAccount',
        // The master endpoint reconciler would try to publish 127.0.0.1 as the
        // kubernetes service endpoint, which validation rejects (loopback).
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
        ...(opts.apiserverArgs ?? []),
      ],
      { env: childEnv(), stdio: ['ignore', apiLogFd, apiLogFd] },
    );
    closeSync(apiLogFd);
    tracked.procs.push(apiserver);
    apiserver.unref();
    apiserver.on('error', () => {
      /* reported through waitFor */
    });
    watchdog = startWatchdog(
      tracked.procs.map((p) => p.pid).filter((p): p is number => typeof p === 'number'),
      dir,
      keepDir,
    );

    const caCertPem = ca.cert;
    await waitFor('kube-apiserver', deadline, apiserver, apiserverLogPath, async () => {
      const r = await httpGet(`${serverUrl}/readyz`, { ca: caCertPem, token });
      if (r.status !== 200) return `/readyz ${r.status}: ${r.body}`;
      // /readyz can pass a moment before the bootstrap controller has created "default".
      const ns = await httpGet(`${serverUrl}/api/v1/namespaces/default`, { ca: caCertPem, token });
      return ns.status === 200 ? true : `default namespace: ${ns.status}`;
    });

    // --- kubeconfig
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfigYaml(serverUrl, caCertPem, 'admin', token), { mode: 0o600 });
    const cacheDir = join(dir, 'kubectl-cache');
    const env = childEnv({ KUBECONFIG: kubeconfigPath });

    const userKubeconfigs = new Map<string, string>();
    const kubeconfigFor = async (userName: string): Promise<string> => {
      const t = userTokens[userName];
      if (t === undefined) throw new Error(`unknown user ${userName}; pass it in startControlPlane({ users })`);
      let p = userKubeconfigs.get(userName);
      if (!p) {
        p = join(dir, `kubeconfig-user-${userKubeconfigs.size + 1}`);
        await writeFile(p, kubeconfigYaml(serverUrl, caCertPem, userName, t), { mode: 0o600 });
        userKubeconfigs.set(userName, p);
      }
      return p;
    };

    const kubectl = async (args: string[], kopts: KubectlOptions = {}): Promise<KubectlResult> => {
      const kc = kopts.kubeconfigPath ?? kubeconfigPath;
      const fullArgs = [`--kubeconfig=${kc}`, `--cache-dir=${cacheDir}`, ...args];
      const r = await runProcess(resolved.kubectl, fullArgs, {
        input: kopts.input,
        env: { ...env, KUBECONFIG: kc, ...kopts.env },
        timeoutMs: kopts.timeoutMs ?? kubectlTimeoutMs,
      });
      if (r.code !== 0 && !kopts.allowFail) {
        throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstderr: ${r.stderr.trim()}\nstdout: ${r.stdout.trim()}`);
      }
      return r;
    };

    let stopped: Promise<void> | undefined;
    return {
      dir,
      kubeconfigPath,
      serverUrl,
      etcdUrl,
      caCertPem,
      token,
      userTokens,
      apiserverLogPath,
      etcdLogPath,
      binaries: resolved,
      env,
      kubectl,
      kubeconfigFor,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}
