// `serve` as the manifests deploy it: policy from the ConfigMap, certificates in a Secret (with the
// caBundle written into the webhook configurations), the background scan and its reports, all against
// a real control plane (etcd + kube-apiserver from the e2e harness). The main admission bench runs
// `serve` with files instead; this one shows what the Kubernetes client adds to the memory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from '../../test/e2e/harness/control-plane.js';
import { clusterModeArgs, MANIFESTS_BASE, SERVICE_ACCOUNT, SERVICE_ACCOUNT_USER } from '../../test/e2e/harness/manifests.js';
import { webhookConfigurations } from '../../test/e2e/harness/webhook.js';
import { load } from './load.js';
import { freePort, rssMb, serveArgs, startChild, stopChild, waitUntilReady, type MemoryCgroup } from './processes.js';
import { reviewMix } from './reviews.js';
import { percentile } from './stats.js';

export interface InClusterServe {
  /** RSS 2 s after /readyz answered, as the main bench measures it. */
  idleRssMb: number;
  /** RSS after the load rounds. */
  rssMb: number;
  /** Median throughput of the rounds on the bench's review mix. */
  rps: number;
}

export interface InClusterOptions {
  node: string;
  cli: string;
  cgroup?: MemoryCgroup;
  rounds: number;
  seconds: number;
  connections: number;
  log: (line: string) => void;
}

export async function inClusterServe(options: InClusterOptions): Promise<InClusterServe> {
  const dir = mkdtempSync(join(tmpdir(), 'lifecycle-guard-bench-cluster-'));
  const cluster = await startControlPlane({ users: [SERVICE_ACCOUNT_USER] });
  try {
    for (const file of ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'policy-configmap.yaml'])
      await cluster.kubectl(['apply', '-f', join(MANIFESTS_BASE, file)]);
    await cluster.kubectl(['apply', '-k', join(MANIFESTS_BASE, '..', 'crds')]);
    // Registered with a URL nothing listens on: the bench sends the reviews itself; serve writes the caBundle.
    await cluster.kubectl(['apply', '-f', '-'], { input: webhookConfigurations('https://127.0.0.1:1') });
    const port = await freePort();
    const args = serveArgs(options.cli, port, 0, clusterModeArgs(await cluster.kubeconfigFor(SERVICE_ACCOUNT), dir));
    let output = '';
    const child = startChild(options.node, args, {
      ...(options.cgroup === undefined ? {} : { cgroup: options.cgroup }),
      log: (text) => (output = (output + text).slice(-4000)),
    });
    try {
      const url = `https://127.0.0.1:${port}`;
      await waitUntilReady(`${url}/readyz`, child).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}; its log: ${output}`);
      });
      if (child.pid === undefined) throw new Error('serve has no pid');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const idleRssMb = rssMb(child.pid);
      options.log(`serve in cluster mode: idle RSS ${idleRssMb.toFixed(1)} MB`);
      const requests = reviewMix();
      await load({ url, requests, connections: options.connections, seconds: 2 }); // warm-up, as for the main targets
      const rates: number[] = [];
      for (let round = 0; round < options.rounds; round += 1) {
        const result = await load({ url, requests, connections: options.connections, seconds: options.seconds });
        if (result.errors + result.non2xx > 0)
          throw new Error(`${result.errors} errors, ${result.non2xx} non-2xx answers; its log: ${output}`);
        rates.push(result.rps);
        options.log(`serve in cluster mode, round ${round + 1}/${options.rounds}: ${result.rps.toFixed(0)} req/s`);
      }
      rates.sort((a, b) => a - b);
      return { idleRssMb, rssMb: rssMb(child.pid), rps: percentile(rates, 0.5) ?? NaN };
    } finally {
      await stopChild(child);
      options.cgroup?.remove();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
