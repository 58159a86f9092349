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

test("serve's modules leave Node's undici unloaded (imported as ESM, 'node:http' loads it on Node 24)", () => {
  const serve = fileURLToPath(new URL('../../src/cli/serve.ts', import.meta.url));
  const script = `await import(${JSON.stringify(serve)}); console.log(process.moduleLoadList.filter((name) => name.includes('undici')).join(','));`;
  const loaded = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(loaded.trim(), '');
});
