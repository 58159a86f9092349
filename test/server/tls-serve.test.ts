// The CLI's `serve` over real TLS: protocol versions, a burst of keep-alive requests through a
// SIGTERM (graceful drain, exit 0), certificate reload without restart, and slow clients.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { CertificateBundle } from '../../src/tls/certificates.js';
import { generateCertificates } from '../../src/tls/generate.js';
import { cliArgv } from '../cli/run.js';
import { badContainer, compliantContainer, pod, review, unmutatedContainer, type Json } from './helpers.js';

const ENV_SECRET = 'tls-test-env-secret-91d2';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves to `value` after `ms`, without keeping the process alive (for Promise.race deadlines). */
function deadline<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

interface Serve {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  metricsPort: number;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<Serve['child']>();

async function startServe(args: string[], cwd: string): Promise<Serve> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    cliArgv(['serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), ...args]),
    {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, KUBECONFIG: join(cwd, 'no-kubeconfig') },
    },
  );
  children.add(child);
  let stdout = '';
  let stderr = '';
  // Always read the pipes: a full pipe would block the server's logging.
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, port, metricsPort, exited, output: () => `${stdout}${stderr === '' ? '' : `\n--- stderr ---\n${stderr}`}` };
}

function killAll(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
process.once('exit', killAll);

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  reusedSocket: boolean;
}

function call(
  port: number,
  ca: string | string[],
  options: { method?: string; path: string; body?: unknown; agent?: Agent | false },
): Promise<Reply> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca,
        method: options.method ?? 'GET',
        path: options.path,
        agent: options.agent ?? false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, reusedSocket: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

async function waitHealthy(serve: Serve, ca: string | string[]): Promise<void> {
  await until('/healthz over HTTPS', 60_000, async () => {
    if (serve.child.exitCode !== null) throw new Error(`serve exited with ${serve.child.exitCode}:\n${serve.output()}`);
    try {
      const reply = await call(serve.port, ca, { path: '/healthz' });
      return reply.status === 200 ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

function tlsHandshake(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function peerFingerprint(port: number, ca: string[]): Promise<string> {
  const socket = await tlsHandshake(port, { ca });
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function assertTlsVersions(port: number, ca: string | string[]): Promise<void> {
  await assert.rejects(
    tlsHandshake(port, { ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    (error: NodeJS.ErrnoException) => {
      // The server answers a TLS 1.1 ClientHello with a protocol_version alert.
      assert.match(String(error.code), /PROTOCOL_VERSION/, `${error.code}: ${error.message}`);
      return true;
    },
  );
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const socket = await tlsHandshake(port, { ca, minVersion: version, maxVersion: version });
    assert.equal(socket.getProtocol(), version);
    assert.equal(socket.authorized, true, String(socket.authorizationError));
    socket.destroy();
  }
}

/** Whether a new TCP connection to the port is refused (the listener is closed). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Reads everything a socket sends until it is closed. */
function readToClose(socket: TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.once('close', () => resolve(data));
    socket.on('error', () => undefined);
  });
}

/**
 * Starts a request by hand on `socket` and resolves once the server has parsed its headers: they ask
 * for `100 Continue`, which the server sends when the request is in progress. The body is up to the caller.
 */
function startRequest(socket: TLSSocket, contentLength: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (chunk: Buffer | string) => {
      data += chunk.toString();
      if (data.includes('HTTP/1.1 100 Continue\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before 100 Continue: ${JSON.stringify(data)}`)));
    socket.write(
      `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\nExpect: 100-continue\r\n\r\n`,
    );
  });
}

function parseRawResponse(raw: string): { status: number; headers: string; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  assert.ok(split > 0, `no complete HTTP response in: ${JSON.stringify(raw)}`);
  const head = raw.slice(0, split);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body: raw.slice(split + 4) };
}

function logRecords(output: string): Json[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Json);
}

const tmpDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifecycle-guard-serve-'));
  tmpDirs.push(dir);
  return dir;
}

after(() => {
  killAll();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

describe('serve with generated certificates', () => {
  let dir: string;
  let serve: Serve;
  let ca: string;

  before(async () => {
    dir = tempDir();
    serve = await startServe(
      ['--cert-dir', join(dir, 'certs'), '--shutdown-delay', '4', '--shutdown-timeout', '20', '--log-level', 'debug'],
      dir,
    );
    await until('generated certificates', 60_000, () => (existsSync(join(dir, 'certs', 'ca.crt')) ? true : undefined));
    ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
    await waitHealthy(serve, ca);
  });
  after(() => {
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  });

  test('writes ca.crt, tls.crt and tls.key (0600) into --cert-dir', () => {
    for (const file of ['ca.crt', 'tls.crt', 'tls.key']) assert.ok(existsSync(join(dir, 'certs', file)), file);
    assert.equal(statSync(join(dir, 'certs', 'tls.key')).mode & 0o777, 0o600);
    const serving = new X509Certificate(readFileSync(join(dir, 'certs', 'tls.crt')));
    assert.ok(serving.checkHost('localhost'));
    assert.ok(serving.checkIP('127.0.0.1'));
    assert.ok(serving.verify(new X509Certificate(ca).publicKey));
  });

  test('refuses TLS 1.1, accepts TLS 1.2 and 1.3', async () => {
    await assertTlsVersions(serve.port, ca);
  });

  test('health, readiness, metrics and 404 over HTTPS', async () => {
    assert.equal((await call(serve.port, ca, { path: '/healthz' })).status, 200);
    assert.equal((await call(serve.port, ca, { path: '/readyz' })).status, 200);
    // Metrics and reports on their own plain-HTTP port only.
    const metrics = await fetch(`http://127.0.0.1:${serve.metricsPort}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /lifecycle_guard_policy_reloads_total/);
    assert.equal((await fetch(`http://127.0.0.1:${serve.metricsPort}/reports`)).status, 200);
    for (const path of ['/metrics', '/reports']) assert.equal((await call(serve.port, ca, { path })).status, 404, path);
    const missing = await call(serve.port, ca, { path: '/nope' });
    assert.equal(missing.status, 404);
    assert.equal(typeof JSON.parse(missing.body).error, 'string');
  });

  test('a burst over keep-alive connections survives SIGTERM: every request answered, /readyz fails, in-flight finished, exit 0', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const withSecret = (containers: Json[]) => pod(containers.map((c) => ({ ...c, env: [{ name: 'TOKEN', value: ENV_SECRET }] })));
    const bodyFor = (index: number) => {
      switch (index % 3) {
        case 0:
          return { endpoint: 'validate', body: review(withSecret([badContainer('app')])), allowed: false };
        case 1:
          return { endpoint: 'validate', body: review(withSecret([compliantContainer('app')])), allowed: true };
        default:
          return { endpoint: 'mutate', body: review(withSecret([unmutatedContainer('app')])), allowed: true };
      }
    };

    // Warm up: connections are reused.
    const warm: Reply[] = [];
    for (let index = 0; index < 12; index += 1) {
      const { endpoint, body } = bodyFor(index);
      warm.push(await call(serve.port, ca, { method: 'POST', path: `/${endpoint}`, body, agent }));
    }
    assert.ok(warm.every((reply) => reply.status === 200));
    assert.ok(
      warm.some((reply) => reply.reusedSocket),
      'keep-alive connections are reused',
    );

    // An in-flight request: headers and half the body now, the rest once the listener has closed.
    const slowBody = review(withSecret([badContainer('slow')]));
    const slowText = JSON.stringify(slowBody);
    const inFlight = await tlsHandshake(serve.port, { ca });
    const inFlightResponse = readToClose(inFlight);
    const half = Math.floor(slowText.length / 2);
    await startRequest(inFlight, Buffer.byteLength(slowText));
    inFlight.write(slowText.slice(0, half));

    // The burst, with SIGTERM after the first 50 answers and /readyz polled from then on.
    const total = 200;
    const concurrency = 16;
    const results: {
      index: number;
      uid: string;
      status?: number;
      gotUid?: unknown;
      allowed?: unknown;
      expected: boolean;
      error?: string;
    }[] = [];
    const readyz: (number | string)[] = [];
    let next = 0;
    let answered = 0;
    let burstOver = false;
    let poller: Promise<void> | undefined;
    const poll = async () => {
      // Until a 503 is seen (or the listener is gone, which would mean the drain was missed).
      for (;;) {
        try {
          const reply = await call(serve.port, ca, { path: '/readyz' });
          readyz.push(reply.status);
          if (reply.status === 503) return;
        } catch (error) {
          readyz.push((error as NodeJS.ErrnoException).code ?? String(error));
          return;
        }
        if (burstOver && readyz.length > 2_000) return;
        await sleep(20);
      }
    };
    const worker = async () => {
      while (next < total) {
        const index = next;
        next += 1;
        const { endpoint, body, allowed } = bodyFor(index);
        const result: (typeof results)[number] = { index, uid: body.request.uid, expected: allowed };
        try {
          const reply = await call(serve.port, ca, { method: 'POST', path: `/${endpoint}`, body, agent });
          result.status = reply.status;
          const parsed = JSON.parse(reply.body) as { response?: { uid?: unknown; allowed?: unknown } };
          result.gotUid = parsed.response?.uid;
          result.allowed = parsed.response?.allowed;
        } catch (error) {
          result.error = `${(error as NodeJS.ErrnoException).code ?? ''} ${String(error)}`;
        }
        results.push(result);
        answered += 1;
        if (answered === 50) {
          serve.child.kill('SIGTERM');
          poller = poll();
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    burstOver = true;
    assert.ok(poller, 'SIGTERM was sent');
    await poller;

    assert.equal(results.length, total);
    const failed = results.filter((r) => r.error !== undefined || r.status !== 200 || r.gotUid !== r.uid || r.allowed !== r.expected);
    assert.deepEqual(failed, [], `${failed.length} request(s) failed during the drain`);
    assert.ok(readyz.includes(503), `/readyz never answered 503 while draining: ${JSON.stringify(readyz.slice(-5))}`);
    assert.ok(
      !readyz.some((status) => typeof status === 'string'),
      `/readyz failed instead of answering 503: ${JSON.stringify(readyz.slice(-5))}`,
    );

    // Still serving while draining, but asking clients to reconnect (to another replica).
    const during = await call(serve.port, ca, { method: 'POST', path: '/validate', body: review(pod([compliantContainer('app')])), agent });
    assert.equal(during.status, 200);
    assert.equal(during.headers.connection, 'close');

    // Then the listener closes while the in-flight request is still open...
    await until('the listener to close', 30_000, async () => ((await refused(serve.port)) ? true : undefined), 50);
    assert.equal(serve.child.exitCode, null, 'the process waits for the in-flight request');
    // ...and the in-flight request is finished.
    inFlight.write(slowText.slice(half));
    const raw = parseRawResponse((await inFlightResponse).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, ''));
    assert.equal(raw.status, 200);
    assert.match(raw.headers, /\r\nconnection: close(\r\n|$)/, 'a request that began before SIGTERM is answered with Connection: close');
    const answer = JSON.parse(raw.body) as { response: { uid: string; allowed: boolean } };
    assert.equal(answer.response.uid, slowBody.request.uid);
    assert.equal(answer.response.allowed, false);

    agent.destroy();
    const exit = await Promise.race([serve.exited, deadline(30_000, { code: -1, signal: 'timeout' })]);
    assert.deepEqual(exit, { code: 0, signal: null }, serve.output().slice(-3000));

    // Logs: JSON lines, one admission line per request, no object contents.
    const output = serve.output();
    assert.ok(!output.includes(ENV_SECRET), 'an env value reached the logs');
    const records = logRecords(output);
    const admissions = records.filter((record) => record.msg === 'admission');
    assert.ok(admissions.length >= total + 12 + 2, `only ${admissions.length} admission lines`);
    for (const line of admissions)
      for (const key of ['uid', 'kind', 'operation', 'verdict', 'durationMs']) assert.ok(key in line, `${key} missing`);
    assert.ok(records.some((record) => record.msg === 'shutting down'));
  });
});

describe('serve with defaults for the certificate directory, a policy file and a short shutdown timeout', () => {
  test('generates into ./certs, applies --policy, and cuts a stalled request at --shutdown-timeout, exiting 0', async () => {
    const dir = tempDir();
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, 'mode: audit\n');
    const serve = await startServe(
      ['--policy', policyFile, '--shutdown-delay', '0', '--shutdown-timeout', '1', '--request-timeout', '120'],
      dir,
    );
    try {
      await until('certs/ca.crt in the working directory', 60_000, () => (existsSync(join(dir, 'certs', 'ca.crt')) ? true : undefined));
      const ca = readFileSync(join(dir, 'certs', 'ca.crt'), 'utf8');
      await waitHealthy(serve, ca);

      // The policy file is in force: audit mode admits, with warnings.
      const body = review(pod([badContainer('app')]));
      const reply = await call(serve.port, ca, { method: 'POST', path: '/validate', body });
      const response = JSON.parse(reply.body).response as { uid: string; allowed: boolean; warnings?: string[] };
      assert.equal(response.uid, body.request.uid);
      assert.equal(response.allowed, true);
      assert.equal(response.warnings?.length, 2);

      // A request whose body never completes holds the shutdown only until the timeout.
      const stalled = await tlsHandshake(serve.port, { ca });
      const closed = readToClose(stalled);
      await startRequest(stalled, 5000);
      stalled.write('{"apiVersion":');
      serve.child.kill('SIGTERM');
      const exit = await Promise.race([serve.exited, deadline(30_000, { code: -1, signal: 'timeout' })]);
      assert.deepEqual(exit, { code: 0, signal: null }, serve.output().slice(-3000));
      await Promise.race([closed, deadline(5_000, 'still open')]).then((data) => assert.notEqual(data, 'still open'));
      assert.ok(logRecords(serve.output()).some((record) => record.msg === 'shutdown timeout: closing remaining connections'));
    } finally {
      if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
    }
  });
});

describe('serve with --tls-cert and --tls-key', () => {
  let dir: string;
  let serve: Serve;
  let first: CertificateBundle;
  let second: CertificateBundle;
  let cas: string[];
  let certFile: string;
  let keyFile: string;

  before(async () => {
    dir = tempDir();
    const hosts = ['localhost', '127.0.0.1'];
    [first, second] = await Promise.all([generateCertificates({ hosts }), generateCertificates({ hosts })]);
    cas = [first.ca.cert, second.ca.cert];
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, first.serving.cert);
    writeFileSync(keyFile, first.serving.key, { mode: 0o600 });
    serve = await startServe(['--tls-cert', certFile, '--tls-key', keyFile, '--shutdown-delay', '0', '--request-timeout', '2'], dir);
    await waitHealthy(serve, cas);
  });
  after(() => {
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  });

  test('does not generate certificates of its own', () => {
    assert.ok(!existsSync(join(dir, 'certs')), 'no certs/ directory in the working directory');
  });

  test('reloads the certificate when the files change, without a restart', async () => {
    assert.equal(await peerFingerprint(serve.port, cas), fingerprintOf(first.serving.cert));

    // Files are often replaced one at a time: a certificate without its key is not put in force.
    writeFileSync(certFile, second.serving.cert);
    await until('the refused reload to be logged', 20_000, () =>
      serve.output().includes('TLS certificate not reloaded') ? true : undefined,
    );
    assert.equal(await peerFingerprint(serve.port, cas), fingerprintOf(first.serving.cert));
    assert.equal((await call(serve.port, cas, { path: '/healthz' })).status, 200);

    writeFileSync(keyFile, second.serving.key, { mode: 0o600 });
    await until(
      'the new certificate to be served',
      20_000,
      async () => {
        const fingerprint = await peerFingerprint(serve.port, cas);
        return fingerprint === fingerprintOf(second.serving.cert) ? fingerprint : undefined;
      },
      250,
    );
    assert.equal(serve.child.exitCode, null, 'same process');

    // The reloaded context keeps the TLS 1.2 minimum, and the server answers as before.
    await assertTlsVersions(serve.port, second.ca.cert);
    const body = review(pod([badContainer('app')]));
    const reply = await call(serve.port, second.ca.cert, { method: 'POST', path: '/validate', body });
    assert.equal(reply.status, 200);
    assert.equal(JSON.parse(reply.body).response.uid, body.request.uid);
  });

  test('closes a connection whose headers never finish', async () => {
    const socket = await tlsHandshake(serve.port, { ca: cas });
    const closed = readToClose(socket);
    socket.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty');
    const data = await Promise.race([closed, deadline(15_000, 'still open')]);
    assert.notEqual(data, 'still open', 'the server did not close a stalled connection');
    if (data !== '') assert.match(data, /^HTTP\/1\.1 408/);
  });

  test('closes a connection whose body never finishes', async () => {
    const socket = await tlsHandshake(serve.port, { ca: cas });
    const closed = readToClose(socket);
    socket.write(
      'POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion":',
    );
    const data = await Promise.race([closed, deadline(15_000, 'still open')]);
    assert.notEqual(data, 'still open', 'the server did not close a stalled request');
    if (data !== '') assert.match(data, /^HTTP\/1\.1 408/);
    assert.equal((await call(serve.port, cas, { path: '/healthz' })).status, 200);
  });

  test('exits 0 on SIGTERM', async () => {
    serve.child.kill('SIGTERM');
    const exit = await Promise.race([serve.exited, deadline(30_000, { code: -1, signal: 'timeout' })]);
    assert.deepEqual(exit, { code: 0, signal: null }, serve.output().slice(-3000));
  });
});
