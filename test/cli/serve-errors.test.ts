// Errors and stops a first local run meets: no kubeconfig, a port in use, Ctrl-C, a second signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliArgv, runCli, tempDir } from './run.js';

const dir = tempDir('serve-errors');
/** No kubeconfig anywhere: an empty HOME and no KUBECONFIG. */
const NO_KUBECONFIG = { HOME: dir, KUBECONFIG: '' };

interface Running {
  exited: Promise<number | null>;
  output: () => string;
  signal: (name: NodeJS.Signals) => void;
}

/** `serve` on a free loopback port with a local certificate; resolves once it listens. */
async function serve(args: string[] = []): Promise<Running> {
  const child = spawn(
    process.execPath,
    // --metrics-port 0: the default 9090 may be taken by another test, or anything else on the machine.
    cliArgv(['serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--cert-dir', join(dir, 'certs'), ...args]),
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...NO_KUBECONFIG },
    },
  );
  after(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let waited = 0; !output.includes('"msg":"listening"'); waited += 50) {
    if (waited > 30_000) assert.fail(`serve did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { exited, output: () => output, signal: (name) => child.kill(name) };
}

async function timed<T>(promise: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await promise;
  return { value, ms: Date.now() - started };
}

describe('first-run errors', () => {
  test('audit without any kubeconfig says so, and where it looked (exit 2)', () => {
    const result = runCli(['audit'], { cwd: dir, env: NO_KUBECONFIG });
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /^error: no kubeconfig found: looked at \$KUBECONFIG \(not set\), ~\/\.kube\/config \(.*\/\.kube\/config: missing\), the in-cluster service account \(.*: missing\)/,
    );
    assert.doesNotMatch(result.stderr, /localhost:8080|HTTP protocol/);
  });

  /** A loopback port some other process holds, and serve started with `flag` on it (the other port free). */
  async function serveOnTakenPort(flag: '--port' | '--metrics-port'): Promise<{ port: number; result: ReturnType<typeof runCli> }> {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    after(() => taken.close());
    const port = (taken.address() as AddressInfo).port;
    const ports = { '--port': '0', '--metrics-port': '0', [flag]: String(port) };
    const args = ['serve', '--host', '127.0.0.1', ...Object.entries(ports).flat(), '--cert-dir', join(dir, 'certs')];
    return { port, result: runCli(args, { cwd: dir, env: NO_KUBECONFIG }) };
  }

  for (const flag of ['--port', '--metrics-port'] as const) {
    test(`${flag} in use: one line naming the port and ${flag}, exit 2`, async () => {
      // With the metrics port taken, the webhook port used to stay open and keep the process alive.
      const { port, result } = await serveOnTakenPort(flag);
      assert.equal(result.status, 2);
      assert.equal(result.stderr, `error: cannot listen on 127.0.0.1:${port}: the port is already in use (choose another with ${flag})\n`);
    });
  }
});

describe('stopping a local run', () => {
  test('SIGINT (Ctrl-C) stops at once, without the shutdown delay', async () => {
    const running = await serve(['--shutdown-delay', '20s']);
    running.signal('SIGINT');
    const { value: code, ms } = await timed(running.exited);
    assert.equal(code, 0, running.output());
    assert.ok(ms < 5000, `took ${ms} ms`);
  });

  test('SIGTERM waits the delay; a second signal stops at once', async () => {
    const running = await serve(['--shutdown-delay', '20s']);
    running.signal('SIGTERM');
    const early = await Promise.race([running.exited, new Promise((resolve) => setTimeout(() => resolve('still draining'), 1000))]);
    assert.equal(early, 'still draining', 'SIGTERM keeps serving through the delay');
    running.signal('SIGTERM');
    const { value: code, ms } = await timed(running.exited);
    assert.equal(code, 2);
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.match(running.output(), /second signal: stopping now/);
  });
});
