// Child processes under measurement: resident memory and CPU time read from /proc (Linux), readiness
// over HTTPS, peak RSS of a command from /usr/bin/time -v.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resident set size of a running process, in MiB. */
export function rssMb(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

const CLOCK_TICKS = 100;

/** User + system CPU seconds a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const insecure = new Agent({ keepAlive: false, rejectUnauthorized: false });

function httpsStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: insecure, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode} before it was ready`);
    const status = await httpsStatus(url);
    if (status >= 200 && status < 500) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A long-running child, killed when the bench exits whatever happens. */
export function startChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; log?: (text: string) => void } = {},
): ChildProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', options.log ? 'pipe' : 'ignore', options.log ? 'pipe' : 'ignore'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (options.log) {
    child.stdout?.on('data', (chunk: Buffer) => options.log?.(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => options.log?.(chunk.toString()));
  }
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface CommandRun {
  exitCode: number;
  wallSeconds: number;
  peakRssMb: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion under /usr/bin/time -v: wall time and peak RSS (max of the process tree's members). */
export function runMeasured(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandRun> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      const errors = Buffer.concat(stderr).toString('utf8');
      const peak = /Maximum resident set size \(kbytes\): (\d+)/.exec(errors);
      if (peak === null) {
        reject(new Error(`/usr/bin/time printed no peak RSS for ${command}: ${errors.slice(-500)}`));
        return;
      }
      const exit = /Exit status: (\d+)/.exec(errors);
      resolve({
        exitCode: exit === null ? (code ?? -1) : Number(exit[1]),
        wallSeconds,
        peakRssMb: Number(peak[1]) / 1024,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: errors.slice(0, errors.lastIndexOf('\tCommand being timed:')),
      });
    });
  });
}

/** POSTs a JSON body over HTTPS (any certificate): the status and the parsed answer (undefined when not JSON). */
export function postJson(url: string, body: string): Promise<{ status: number; answer: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: insecure, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        let answer: unknown;
        try {
          answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          answer = undefined;
        }
        resolve({ status: res.statusCode ?? 0, answer });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
