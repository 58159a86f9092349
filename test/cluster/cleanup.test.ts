// The cluster leaves nothing behind on the machine: not after a normal stop, and not when the test
// process is SIGKILLed with a Pod running (then the watchdog runs cleanup.sh).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../e2e/harness/webhook.js';
import { NODE_IP } from './harness/cluster.js';

/** What of the node in `dir` is still on the machine. */
function leftovers(dir: string, companions: string[]): string[] {
  const found: string[] = [];
  for (const path of [dir, ...companions]) if (existsSync(path)) found.push(`directory ${path}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(dir)) found.push(`mount ${line.split(' ')[4]}`);
  }
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(dir)) found.push(`process ${pid}: ${cmdline.slice(0, 120)}`);
    } catch {
      // exited meanwhile
    }
  }
  const ip = (args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  if (ip(['-o', 'link']).includes('lg-cni0')) found.push('bridge lg-cni0');
  if (ip(['-o', 'addr', 'show', 'dev', 'lo']).includes(NODE_IP)) found.push(`address ${NODE_IP} on lo`);
  for (const command of ['iptables-save', 'ip6tables-save']) {
    const chains = execFileSync(command, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((line) => /^:(KUBE|CNI)-/.test(line));
    if (chains.length > 0) found.push(`${command}: ${chains.join(' ')}`);
  }
  return found;
}

test('a SIGKILLed test process leaves no process, mount, container, chain or interface behind', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'hold-cluster.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(output);
      if (ready?.[1]) resolve(ready[1]);
    });
    child.once('exit', (code) => reject(new Error(`hold-cluster exited (${code}) before the Pod ran:\n${output}`)));
  });
  // The registry's and the webhook's directories.
  const companions = readFileSync(join(dir, 'also-remove'), 'utf8').split('\n').filter(Boolean);
  assert.equal(companions.length, 2);
  assert.ok(leftovers(dir, companions).length > 0, 'the running node is visible to leftovers()');
  child.kill('SIGKILL');
  await eventually(() => Promise.resolve(leftovers(dir, companions).length === 0), 60_000, `cleanup of ${dir}`).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\nleft: ${leftovers(dir, companions).join('\n')}`);
  });
});
