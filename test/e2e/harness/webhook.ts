import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { freePort } from './control-plane.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
export const CLI = join(REPO, 'dist', 'cli', 'main.js');

export interface Webhook {
  port: number;
  url: string;
  /** Plain HTTP: /metrics and /reports. */
  metricsUrl: string;
  process: ChildProcess;
  /** Everything the process printed (JSON log lines). */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** GET over HTTPS, trusting the given CA; resolves with the status code and body, or rejects. */
export function httpsGetText(url: string, ca: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: new Agent({ keepAlive: false }), servername: 'localhost', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function httpsGet(url: string, ca: string | Buffer): Promise<number> {
  return (await httpsGetText(url, ca)).status;
}

/**
 * Starts the built `lifecycle-guard serve` on a free loopback port and waits until it answers
 * /readyz. `caFile` is the CA the webhook's certificate chains to (for the readiness check).
 */
export async function startWebhook(args: string[], caFile: () => string, env: NodeJS.ProcessEnv = process.env): Promise<Webhook> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), ...args],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`webhook exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await httpsGet(`${url}/readyz`, readFileSync(caFile()))) === 200) break;
    } catch {
      // not listening yet, or certificates not written yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`webhook not ready after 60s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    url,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    process: child,
    output: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * The project's webhook configurations (manifests/base/webhooks.yaml), pointed at a local URL
 * instead of the in-cluster Service, since there is no kube-proxy here.
 */
export function webhookConfigurations(url: string, caBundlePem?: string): string {
  const text = readFileSync(join(REPO, 'manifests', 'base', 'webhooks.yaml'), 'utf8');
  return parseAllDocuments(text)
    .map((document) => {
      const configuration = document.toJS() as { webhooks: { clientConfig: Record<string, unknown> }[] };
      for (const webhook of configuration.webhooks) {
        const path = (webhook.clientConfig.service as { path: string }).path;
        webhook.clientConfig = { url: `${url}${path}`, ...(caBundlePem ? { caBundle: Buffer.from(caBundlePem).toString('base64') } : {}) };
      }
      return JSON.stringify(configuration);
    })
    .join('\n---\n');
}

/** Waits until `check` resolves true, polling; throws with the last error after the timeout. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${inspect(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
