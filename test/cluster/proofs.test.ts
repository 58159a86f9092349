// Each rule's "why", shown on running Pods of a real single-node cluster (test/cluster/harness):
// the same workload with lifecycle-guard (namespace `guarded`) and without (namespace `plain`),
// the difference measured and written to test-artifacts/lifecycle-proof.json.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../e2e/harness/webhook.js';
import { recordProof } from './harness/proof.js';
import {
  deploymentWithService,
  GUARDED,
  list,
  PLAIN,
  podsOf,
  rolloutStatus,
  serviceUrl,
  startCluster,
  startLoad,
  timeDeletion,
  waitUntilAnswers,
  type Cluster,
} from './harness/suite.js';

// What `lgtest crash` prints before exiting 1 (not in the Pod spec, so only the log can tell).
const GRACE_PERIOD_SECONDS = 10;
const SHELL_COMMAND = ['/bin/sh', '-c', '/lgtest serve; echo server exited'];
const EXEC_COMMAND = ['/lgtest', 'serve'];

const CRASH_REASON = 'open /etc/app/config.yaml: no such file or directory';

describe('lifecycle proofs on a real single-node cluster', () => {
  let cluster: Cluster;

  before(async () => {
    cluster = await startCluster();
  });

  after(async () => {
    await cluster?.stop();
  });

  /** A Pod running the test server with `command`, Ready once it listens. */
  function server(name: string, namespace: string, command: string[]) {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        terminationGracePeriodSeconds: GRACE_PERIOD_SECONDS,
        containers: [{ name: 'server', image: cluster.images.server, command, readinessProbe: { tcpSocket: { port: 8080 } } }],
      },
    };
  }

  /** The Deployment whose Pods are `pod`. */
  function deploymentOf(pod: ReturnType<typeof server>) {
    const { name, namespace } = pod.metadata;
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: pod.spec } },
    };
  }

  /** Requests through the Service at `url` that failed while `during` ran (and a second after). */
  async function failedRequestsDuring(url: string, namespace: string, during: () => Promise<void>): Promise<number> {
    const load = startLoad(url);
    await during();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const result = await load.stop();
    console.log(`${namespace}: ${JSON.stringify(result)}`);
    assert.ok(result.sent > 100, `only ${result.sent} requests sent`);
    return result.failed;
  }

  async function runUntilReady(object: { metadata: { name: string; namespace: string } }): Promise<void> {
    const applied = await cluster.kubectl(['apply', '-f', '-'], object);
    assert.equal(applied.code, 0, applied.stderr);
    const { name, namespace } = object.metadata;
    const ready = await cluster.kubectl(['wait', '--for=condition=Ready', `pod/${name}`, '-n', namespace, '--timeout=120s']);
    assert.equal(ready.code, 0, ready.stderr);
  }

  test('no-shell-entrypoint: a shell as PID 1 keeps the Pod for its whole grace period; the webhook denies it', async () => {
    // busybox sh, like bash, execs a lone simple command (then the server is PID 1 after all);
    // the command after it keeps the shell as PID 1, as in most real `sh -c` entrypoints.
    await runUntilReady(server('shell-form', PLAIN, SHELL_COMMAND));
    await runUntilReady(server('exec-form', PLAIN, EXEC_COMMAND));
    const shell = await timeDeletion(cluster, PLAIN, 'shell-form', GRACE_PERIOD_SECONDS);
    const exec = await timeDeletion(cluster, PLAIN, 'exec-form', GRACE_PERIOD_SECONDS);
    console.log(
      `delete -> exit: shell as PID 1 ${shell.seconds.toFixed(1)} s (exit ${shell.exitCode}), exec form ${exec.seconds.toFixed(1)} s (exit ${exec.exitCode})`,
    );
    // SIGTERM never reaches the server behind the shell: the kubelet SIGKILLs it at the end of the grace period.
    assert.equal(shell.exitCode, 137);
    // The server as PID 1 gets SIGTERM and exits by itself.
    assert.equal(exec.exitCode, 0);
    recordProof({ shell_sigterm_s: Number(shell.seconds.toFixed(1)), exec_sigterm_s: Number(exec.seconds.toFixed(1)) });

    const denied = await cluster.kubectl(['apply', '-f', '-'], deploymentOf(server('shell-form', GUARDED, SHELL_COMMAND)));
    console.log(denied.stderr);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /denied the request/);
    assert.match(denied.stderr, /no-shell-entrypoint/);
    assert.match(denied.stderr, /Fix: /);
    recordProof({ shell_denied_message: denied.stderr.trim() });
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
      await eventually(
        async () => {
          const pod = await cluster.core.readNamespacedPod({ name: 'crashing', namespace });
          const status = pod.status?.containerStatuses?.[0];
          const terminated = status?.lastState?.terminated ?? status?.state?.terminated;
          if (!terminated) return false;
          assert.equal(terminated.exitCode, 1);
          message = terminated.message;
          return true;
        },
        120_000,
        `the crash of ${namespace}/crashing`,
      );
      const describe = await cluster.kubectl(['describe', 'pod', 'crashing', '-n', namespace]);
      shown[namespace] = (message ?? '').includes(CRASH_REASON) && describe.stdout.includes(CRASH_REASON);
      assert.equal(describe.stdout.includes(CRASH_REASON), namespace === GUARDED, describe.stdout);
    }
    assert.deepEqual(shown, { [GUARDED]: true, [PLAIN]: false });
    recordProof({ termination_message_shown: shown[GUARDED] === true, termination_message_shown_without: shown[PLAIN] === true });
  });

  test('require-readiness-probe: without a probe, a slow-starting Pod gets requests it cannot answer', async () => {
    const SLOW = ['/lgtest', 'serve', '-start-delay', '5s'];
    const probe = { readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } };
    const denied = await cluster.kubectl(
      ['apply', '-f', '-'],
      list(deploymentWithService('slow', GUARDED, { image: cluster.images.server, command: SLOW })),
    );
    assert.match(denied.stderr, /denied the request[\s\S]*require-readiness-probe/);

    const failed: Record<string, number> = {};
    for (const [namespace, container] of [
      [PLAIN, { image: cluster.images.server, command: SLOW }],
      [GUARDED, { image: cluster.images.server, command: SLOW, ...probe }],
    ] as const) {
      const applied = await cluster.kubectl(['apply', '-f', '-'], list(deploymentWithService('slow', namespace, container)));
      assert.equal(applied.code, 0, applied.stderr);
      await rolloutStatus(cluster, namespace, 'slow');
      const url = await serviceUrl(cluster, namespace, 'slow');
      await waitUntilAnswers(url);
      // One Pod serves; a second one starts (slowly) while requests keep coming through the Service.
      failed[namespace] = await failedRequestsDuring(url, namespace, async () => {
        const scaled = await cluster.kubectl(['scale', 'deployment/slow', '-n', namespace, '--replicas=2']);
        assert.equal(scaled.code, 0, scaled.stderr);
        await rolloutStatus(cluster, namespace, 'slow');
        for (const pod of await podsOf(cluster, namespace, 'slow')) await waitUntilAnswers(`http://${pod.status?.podIP}:8080/`);
      });
    }
    recordProof({ startup_failed_without_readiness: failed[PLAIN] ?? -1, startup_failed_with_readiness: failed[GUARDED] ?? -1 });
    assert.equal(failed[GUARDED], 0);
    assert.ok((failed[PLAIN] ?? 0) > 0, 'no request failed without a readiness probe');
  });

  test('no-shell-entrypoint on images: a shell-form ENTRYPOINT is denied, its exec-form twin stops at once', async () => {
    const pod = (name: string, namespace: string, image: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        terminationGracePeriodSeconds: GRACE_PERIOD_SECONDS,
        containers: [{ name: 'server', image, readinessProbe: { tcpSocket: { port: 8080 } } }],
      },
    });
    const denied = await cluster.kubectl(['apply', '-f', '-'], pod('image-shell-form', GUARDED, cluster.images.serverShellForm));
    console.log(denied.stderr);
    assert.match(denied.stderr, /denied the request/);
    assert.match(denied.stderr, /no-shell-entrypoint/);
    assert.ok(denied.stderr.includes(cluster.images.serverShellForm), 'the message names the image');

    const admitted = await cluster.kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      pod('image-exec-form', GUARDED, cluster.images.server),
    );
    assert.equal(admitted.code, 0, admitted.stderr);

    // Both run where the webhook is off, to compare how they stop (in `guarded` the injected preStop delay would add 5 s).
    await runUntilReady(pod('image-exec-form', PLAIN, cluster.images.server));
    const exec = await timeDeletion(cluster, PLAIN, 'image-exec-form', GRACE_PERIOD_SECONDS);
    assert.equal(exec.exitCode, 0);
    // For the record: Debian's busybox sh execs a lone command, so this image's shell does not stay
    // PID 1 when it runs (bash does the same; dash does not). The image config cannot tell which.
    await runUntilReady(pod('image-shell-form', PLAIN, cluster.images.serverShellForm));
    const shellForm = await timeDeletion(cluster, PLAIN, 'image-shell-form', GRACE_PERIOD_SECONDS);
    console.log(
      `delete -> exit: exec-form image ${exec.seconds.toFixed(1)} s (exit ${exec.exitCode}), busybox shell-form image ${shellForm.seconds.toFixed(1)} s (exit ${shellForm.exitCode})`,
    );
    recordProof({
      image_shell_form_denied: true,
      image_exec_form_sigterm_s: Number(exec.seconds.toFixed(1)),
      image_shell_form_busybox_sigterm_s: Number(shellForm.seconds.toFixed(1)),
    });
  });

  test('inject-prestop-delay: a rolling restart drops requests without the delay', async () => {
    const container = {
      image: cluster.images.server,
      command: ['/lgtest', 'serve'],
      readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
    };
    const failed: Record<string, number> = {};
    for (const namespace of [PLAIN, GUARDED]) {
      const applied = await cluster.kubectl(['apply', '-f', '-'], list(deploymentWithService('web', namespace, container, 2)));
      assert.equal(applied.code, 0, applied.stderr);
      await rolloutStatus(cluster, namespace, 'web');
      // The webhook mutates Pods as they are created: those of `guarded` wait 5 s before SIGTERM.
      for (const pod of await podsOf(cluster, namespace, 'web')) {
        assert.equal(pod.spec?.containers[0]?.lifecycle?.preStop?.sleep?.seconds, namespace === GUARDED ? 5 : undefined);
      }
      const url = await serviceUrl(cluster, namespace, 'web');
      await waitUntilAnswers(url);
      failed[namespace] = await failedRequestsDuring(url, namespace, async () => {
        const restarted = await cluster.kubectl(['rollout', 'restart', 'deployment/web', '-n', namespace]);
        assert.equal(restarted.code, 0, restarted.stderr);
        await rolloutStatus(cluster, namespace, 'web');
        // Until the old Pods are gone: their shutdown is where requests get lost.
        await eventually(
          async () => {
            const pods = await podsOf(cluster, namespace, 'web');
            return pods.length === 2 && pods.every((pod) => !pod.metadata?.deletionTimestamp);
          },
          120_000,
          `the old Pods of ${namespace}/web to be gone`,
        );
      });
    }
    recordProof({ rollout_failed_without_prestop: failed[PLAIN] ?? -1, rollout_failed_with_prestop: failed[GUARDED] ?? -1 });
    assert.equal(failed[GUARDED], 0);
  });
});
