import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { releaseMemory } from '../../src/cli/release-memory.js';

const newSpaceBytes = () => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

/** Allocates as start-up does: many objects that survive a while, which grows the young generation. */
function growYoungGeneration(): void {
  const kept: Array<{ index: number; text: string }> = [];
  for (let index = 0; index < 2_000_000; index += 1) {
    kept.push({ index, text: `object ${index}` });
    if (kept.length > 200_000) kept.length = 0;
  }
}

test('releaseMemory shrinks the young generation that a burst of work grew, and can run again', async () => {
  for (let round = 0; round < 2; round += 1) {
    growYoungGeneration();
    const grown = newSpaceBytes();
    assert.equal(await releaseMemory(), true);
    const released = newSpaceBytes();
    assert.ok(released * 4 <= grown, `round ${round}: new space ${grown} → ${released} bytes`);
  }
});

test("serve's modules, also those of cluster mode, leave Node's undici unloaded (imported as ESM, 'node:http' loads it on Node 24)", () => {
  const modules = [
    'cli/serve.ts',
    'cli/kube-access.ts',
    'kube/policy-configmap.ts',
    'kube/namespace-labels.ts',
    'kube/tls-bootstrap.ts',
    'kube/background-scan.ts',
    'kube/lease.ts',
    'kube/namespace-selector.ts',
  ].map((module) => JSON.stringify(fileURLToPath(new URL(`../../src/${module}`, import.meta.url))));
  const script = `for (const module of [${modules.join(', ')}]) await import(module); console.log(process.moduleLoadList.filter((name) => name.includes('undici')).join(','));`;
  const loaded = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(loaded.trim(), '');
});
