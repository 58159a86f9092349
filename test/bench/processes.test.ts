// The bench waits for a quiet machine before each measured round (bench/lib/processes.ts): its reading
// of /proc/stat must count the CPU this process spends as busy.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { machineBusySeconds } from '../../bench/lib/processes.js';

test('the machine-wide busy time grows at least by the CPU time this process spends on every core', async () => {
  // Every core busy with this process, so that idle time (counted by mistake) could not make up for it.
  const cores = availableParallelism();
  const spinners = Array.from({ length: cores - 1 }, () => new Worker('for (;;) {}', { eval: true }));
  const machineBefore = machineBusySeconds();
  const ownBefore = process.cpuUsage();
  const spent = () => {
    const { user, system } = process.cpuUsage(ownBefore);
    return (user + system) / 1e6;
  };
  // CPU time, not wall time: spin until this process has spent 0.2 s on each core.
  while (spent() < 0.2 * cores);
  const own = spent();
  const machine = machineBusySeconds() - machineBefore;
  await Promise.all(spinners.map((spinner) => spinner.terminate()));
  // /proc/stat counts in ticks of 10 ms per core.
  assert.ok(machine >= own - 0.01 * cores - 0.01, `machine ${machine} s busy, this process ${own} s`);
});
