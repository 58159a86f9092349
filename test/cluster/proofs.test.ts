// Each rule's "why", shown on running Pods of a real single-node cluster (test/cluster/harness):
// the same workload with lifecycle-guard (namespace `guarded`) and without (namespace `plain`),
// the difference measured and written to test-artifacts/lifecycle-proof.json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordProof } from './harness/proof.js';
import { GUARDED, PLAIN, startCluster, type Cluster } from './harness/suite.js';

// What `lgtest crash` prints before exiting 1 (not in the Pod spec, so only the log can tell).
const CRASH_REASON = 'open /etc/app/config.yaml: no such file or directory';

describe('lifecycle proofs on a real single-node cluster', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster();
  });

  after(async () => {
    await cluster?.stop();
  });

  test('termination-message-fallback: the crash reason is in the Pod status only with the mutated Pod', async () => {
    const crashing = (namespace: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crashing', namespace },
      spec: {
        containers: [
          {
            name: 'app',
            image: cluster.images.server,
            command: ['/lgtest', 'crash'],
            readinessProbe: { tcpSocket: { port: 8080 } },
          },
        ],
      },
    });
    const shown: Record<string, boolean> = {};
    for (const namespace of [GUARDED, PLAIN]) {
      const applied = await cluster.kubectl(['apply', '-f', '-'], crashing(namespace));
      assert.equal(applied.code, 0, applied.stderr);
      const created = await cluster.core.readNamespacedPod({ name: 'crashing', namespace });
      assert.equal(created.spec?.containers[0]?.terminationMessagePolicy, namespace === GUARDED ? 'FallbackToLogsOnError' : 'File');
      let message: string | undefined;
      for (;;) {
        const pod = await cluster.core.readNamespacedPod({ name: 'crashing', namespace });
        const status = pod.status?.containerStatuses?.[0];
        const terminated = status?.lastState?.terminated ?? status?.state?.terminated;
        if (terminated) {
          assert.equal(terminated.exitCode, 1);
          message = terminated.message;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const describe = await cluster.kubectl(['describe', 'pod', 'crashing', '-n', namespace]);
      shown[namespace] = (message ?? '').includes(CRASH_REASON) && describe.stdout.includes(CRASH_REASON);
      assert.equal(describe.stdout.includes(CRASH_REASON), namespace === GUARDED, describe.stdout);
    }
    assert.deepEqual(shown, { [GUARDED]: true, [PLAIN]: false });
    recordProof({ termination_message_shown: shown[GUARDED] === true, termination_message_shown_without: shown[PLAIN] === true });
  });
});
