// The audit scan at cluster scale: Pods and Deployments stored in a real control plane (etcd +
// kube-apiserver from the e2e harness; no kubelet, so nothing runs), scanned by `lifecycle-guard
// audit -A`: wall time and peak RSS at 2,000 and at 12,000 objects.
import { request } from 'node:https';
import { startControlPlane, type ControlPlane } from '../../test/e2e/harness/control-plane.js';
import { runMeasured } from './processes.js';
import { workload } from './reviews.js';

const NAMESPACE = 'shop';
/** 10,000 Pods and 2,000 Deployments in all; the first measurement at a sixth of that. */
const STEPS = [
  { pods: 1667, deployments: 333 },
  { pods: 10_000, deployments: 2000 },
];
const CONCURRENCY = 16;

function post(cluster: ControlPlane, path: string, object: unknown): Promise<void> {
  const body = JSON.stringify(object);
  return new Promise((resolve, reject) => {
    const req = request(
      `${cluster.serverUrl}${path}`,
      {
        method: 'POST',
        ca: cluster.caCertPem,
        headers: {
          authorization: `Bearer ${cluster.token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          res.statusCode !== undefined && res.statusCode < 300
            ? resolve()
            : reject(new Error(`POST ${path}: ${res.statusCode} ${text.slice(0, 300)}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function createAll(cluster: ControlPlane, objects: Array<{ path: string; object: unknown }>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const item = objects[next++];
      if (item !== undefined) await post(cluster, item.path, item.object);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

export interface ScanStep {
  objects: number;
  seconds: number;
  peakRssMb: number;
  findings: number;
}

export async function scanBench(cli: string, log: (line: string) => void): Promise<ScanStep[]> {
  const cluster = await startControlPlane();
  try {
    await post(cluster, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    const results: ScanStep[] = [];
    let pods = 0;
    let deployments = 0;
    for (const step of STEPS) {
      const objects: Array<{ path: string; object: unknown }> = [];
      for (; pods < step.pods; pods += 1)
        objects.push({ path: `/api/v1/namespaces/${NAMESPACE}/pods`, object: workload('Pod', pods % 4 !== 0, pods) });
      for (; deployments < step.deployments; deployments += 1) {
        objects.push({
          path: `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`,
          object: workload('Deployment', deployments % 4 !== 0, step.pods + deployments),
        });
      }
      const started = Date.now();
      await createAll(cluster, objects);
      log(`created ${objects.length} objects in ${((Date.now() - started) / 1000).toFixed(1)} s (${pods + deployments} in all)`);
      const run = await runMeasured(process.execPath, [cli, 'audit', '-A', '-o', 'json', '--kubeconfig', cluster.kubeconfigPath]);
      if (run.exitCode !== 0 && run.exitCode !== 1) throw new Error(`audit exited ${run.exitCode}: ${run.stderr.slice(0, 500)}`);
      const findings = (JSON.parse(run.stdout) as { findings?: unknown[] }).findings?.length ?? 0;
      results.push({ objects: pods + deployments, seconds: run.wallSeconds, peakRssMb: run.peakRssMb, findings });
      log(`audit -A: ${pods + deployments} objects in ${run.wallSeconds.toFixed(2)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB`);
    }
    return results;
  } finally {
    await cluster.stop();
  }
}
