// Child processes under measurement: resident memory and CPU time read from /proc (Linux), readiness
// over HTTPS, peak RSS of a command from /usr/bin/time -v, servers in a memory cgroup.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** CPU seconds the whole machine has spent busy so far, on all cores together (/proc/stat). */
export function machineBusySeconds(): number {
  const [label, ...fields] = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/);
  if (label !== 'cpu') throw new Error('/proc/stat does not start with the cpu line');
  // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS;
}

/**
 * Waits until the machine is quiet: fewer than `cores` busy over a `windowMs` window, or `timeoutMs`
 * gone by. A server measured right after a saturated one would otherwise share the machine with the
 * work that server still had queued. Says whether it got quiet, and the cores busy in the last window.
 */
export async function machineQuiet({ cores = 0.3, windowMs = 500, timeoutMs = 20_000 } = {}): Promise<{
  quiet: boolean;
  busyCores: number;
}> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const busyCores = (machineBusySeconds() - before) / (windowMs / 1000);
    if (busyCores < cores || Date.now() >= deadline) return { quiet: busyCores < cores, busyCores };
  }
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

/** A memory cgroup of its own for a server: what a container's memory limit is to the process in it. */
export interface MemoryCgroup {
  /** The cgroup.procs file a process writes its pid to, to join. */
  procs: string;
  remove(): void;
}

/**
 * Creates a memory cgroup with `limitBytes` (cgroup v1 or v2; root only), or says why it cannot. Node
 * sizes its heap from the limit it runs under, as in a Pod: Node 24 unconstrained on a 24 GB machine
 * lets its young generation grow to 128 MB, under the chart's 1 GiB limit to 32 MB.
 */
export function memoryCgroup(name: string, limitBytes: number): MemoryCgroup | string {
  const v1 = '/sys/fs/cgroup/memory';
  const v2 = '/sys/fs/cgroup';
  try {
    let dir: string;
    if (existsSync(join(v1, 'memory.limit_in_bytes'))) {
      dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    } else if (readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) {
      writeFileSync(join(v2, 'cgroup.subtree_control'), '+memory');
      dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), String(limitBytes));
    } else {
      return 'no memory cgroup controller on this machine';
    }
    const remove = () => rmdirSync(dir);
    process.on('exit', () => {
      try {
        remove();
      } catch {
        // still in use or gone: nothing to clean
      }
    });
    return { procs: join(dir, 'cgroup.procs'), remove };
  } catch (error) {
    return `no memory cgroup (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** `lifecycle-guard serve` on loopback: the webhook on `port`, metrics on `metricsPort` (0: any free port), then `extra` flags. */
export function serveArgs(cli: string, port: number, metricsPort: number, extra: string[]): string[] {
  return [cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), ...extra];
}

/**
 * A long-running child, killed when the bench exits whatever happens; in `cgroup` from its first
 * instruction (a shell joins it, then execs the command, which keeps the pid).
 */
export function startChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; log?: (text: string) => void; cgroup?: MemoryCgroup } = {},
): ChildProcess {
  const [file, argv] =
    options.cgroup === undefined
      ? [command, args]
      : ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', options.cgroup.procs, command, ...args]];
  const child = spawn(file, argv, {
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
