// The scan keeps nothing of an object but its findings: objects already evaluated can be collected
// while the listing goes on, so the scan's memory does not grow with the cluster (issue #10).
// Checked with the garbage collector itself (forced, through weak references), not with timings or
// memory figures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { policyFromObject } from '../../src/engine/policy.js';
import { scanCluster } from '../../src/kube/scanner.js';
import { FakeApiServer } from './fake-api.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const OBJECTS = 400;
const CHECK_EVERY = 50;
const REFERENCES_PER_OBJECT = 3;
const STRAY_REFERENCES = 2 * REFERENCES_PER_OBJECT;

/** A Pod whose container runs `sh -c` and has no probe: findings that name it. */
function pod(index: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${index}`, namespace: 'shop', uid: `uid-${index}`, labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'web', image: `registry.example/web:${index}`, command: ['sh', '-c', 'run'], env: [{ name: 'A', value: 'b' }] }],
    },
  };
}

test('objects the scan has evaluated are not held while the listing goes on', async () => {
  const handedOver: Array<WeakRef<object>> = [];
  let checks = 0;
  let mostAlive = 0;
  const clients = {
    ...new FakeApiServer().clients(),
    objects: {
      async *listObjects(_apiVersion: string, kind: string) {
        if (kind !== 'Pod') return;
        for (let index = 0; index < OBJECTS; index += 1) {
          if (index > 0 && index % CHECK_EVERY === 0) {
            // A new macrotask first: objects a WeakRef was made or read for stay alive until the task ends.
            await new Promise((resolve) => setImmediate(resolve));
            collectGarbage();
            // The object handed over last may still sit in the scanner's frame; every earlier one must be gone.
            const alive = handedOver.slice(0, -REFERENCES_PER_OBJECT).filter((reference) => reference.deref() !== undefined).length;
            mostAlive = Math.max(mostAlive, alive);
            checks += 1;
          }
          const object = pod(index);
          handedOver.push(new WeakRef(object), new WeakRef(object.spec), new WeakRef(object.metadata));
          yield object;
        }
      },
    },
  };
  const report = await scanCluster(clients, { policy: policyFromObject({}, 'test'), pageSize: 10 });
  assert.equal(report.summary.objects, OBJECTS);
  assert.equal(new Set(report.findings.map((finding) => finding.name)).size, OBJECTS, 'every object has findings');
  assert.equal(checks, OBJECTS / CHECK_EVERY - 1);
  // A scan that kept its objects (or a page of them) would hold dozens to hundreds here. A few parts
  // may outlive their object for a while in V8's optimised code, whatever the number of objects.
  assert.ok(mostAlive <= STRAY_REFERENCES, `${mostAlive} objects (or their parts) evaluated earlier were still reachable`);
});
