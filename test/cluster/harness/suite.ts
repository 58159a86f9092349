// What the proofs share: the node (cluster.ts), the test images (images.ts), and lifecycle-guard
// serving as a local process registered by URL, as in the e2e suite. Two namespaces: `guarded`
// goes through the webhook, `plain` is excluded by the policy (the webhook is off there), so each
// proof runs the same workload with and without lifecycle-guard.
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { startWebhook, webhookConfigurations, eventually, type Webhook } from '../../e2e/harness/webhook.js';
import { clusterBinDir, startNode, type Node } from './cluster.js';
import { buildTestImages, type TestImages } from './images.js';

export const GUARDED = 'guarded';
export const PLAIN = 'plain';

export interface Cluster {
  node: Node;
  images: TestImages;
  webhook: Webhook;
  /** kubectl against the cluster; never throws, check `code`. */
  kubectl(args: string[], input?: unknown): Promise<{ code: number; stdout: string; stderr: string }>;
  core: CoreV1Api;
  kubeConfig: KubeConfig;
  stop(): Promise<void>;
}

function policy(registryHost: string): string {
  return stringify({
    mode: 'enforce',
    exclude: { namespaces: ['kube-system', 'kube-public', 'kube-node-lease', PLAIN] },
    rules: { 'no-shell-entrypoint': { images: { registries: { insecure: [registryHost] } } } },
  });
}

export async function startCluster(): Promise<Cluster> {
  const images = await buildTestImages();
  let node: Node | undefined;
  const certDir = mkdtempSync(join(tmpdir(), 'lg-cluster-webhook-'));
  try {
    node = await startNode({ sandboxImage: images.pause, plainHttpRegistries: [images.registry.host] });
    const controlPlane = node.controlPlane;
    const kubectl: Cluster['kubectl'] = (args, input) =>
      controlPlane.kubectl(args, {
        allowFail: true,
        ...(input === undefined ? {} : { input: typeof input === 'string' ? input : JSON.stringify(input) }),
      });
    writeFileSync(join(certDir, 'policy.yaml'), policy(images.registry.host));
    const webhook = await startWebhook(['--cert-dir', certDir, '--policy', join(certDir, 'policy.yaml'), '--shutdown-delay', '0'], () =>
      join(certDir, 'ca.crt'),
    );
    // cleanup.sh kills these too if this process dies without running its exit handlers.
    writeFileSync(join(node.dir, 'pids', '00-webhook.pid'), String(webhook.process.pid));
    writeFileSync(join(node.dir, 'pids', '00-registry.pid'), String(images.registry.pid));
    writeFileSync(join(node.dir, 'also-remove'), `${images.registry.dir}\n${certDir}\n`);
    await controlPlane.kubectl(['apply', '-f', '-'], {
      input: webhookConfigurations(webhook.url, readFileSync(join(certDir, 'ca.crt'), 'utf8')),
    });
    for (const namespace of [GUARDED, PLAIN]) await controlPlane.kubectl(['create', 'namespace', namespace]);
    // The API server picks the webhook configuration up asynchronously.
    await eventually(
      async () => {
        const bare = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'probe', namespace: GUARDED },
          spec: { containers: [{ name: 'c', image: images.server }] },
        };
        const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], bare);
        return result.code !== 0 && result.stderr.includes('denied the request');
      },
      30_000,
      'the webhook to deny',
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane.kubeconfigPath);
    const started = node;
    return {
      node: started,
      images,
      webhook,
      kubectl,
      kubeConfig,
      core: kubeConfig.makeApiClient(CoreV1Api),
      // The webhook and the registry first, stopped gently; cleanup.sh then kills whatever is left.
      async stop() {
        await webhook.stop();
        await images.registry.stop();
        await started.stop();
        rmSync(certDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await images.registry.stop();
    await node?.stop();
    rmSync(certDir, { recursive: true, force: true });
    throw error;
  }
}

/** A Deployment of `replicas` Pods labelled app=name running `container`, and a Service `name` on port 80 -> 8080. */
export function deploymentWithService(name: string, namespace: string, container: Record<string, unknown>, replicas = 1): unknown[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'server', ...container }] } },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
}

export function list(items: unknown[]): unknown {
  return { apiVersion: 'v1', kind: 'List', items };
}

export interface Termination {
  /** From the delete request to the first sight of the container's exit (or of the Pod's removal). */
  seconds: number;
  /** The container's exit code when its terminated state was seen (137: SIGKILLed). */
  exitCode: number | undefined;
}

/** Deletes a running Pod with the given grace period and measures how long its (only) container takes to exit. */
export async function timeDeletion(cluster: Cluster, namespace: string, name: string, gracePeriodSeconds: number): Promise<Termination> {
  let startedAt: number | undefined;
  let exit: Termination | undefined;
  const seen = (exitCode: number | undefined) => {
    if (startedAt !== undefined) exit ??= { seconds: (performance.now() - startedAt) / 1000, exitCode };
  };
  let onGone = () => {};
  let onError = (_error: Error) => {};
  const gone = new Promise<void>((resolve, reject) => {
    onGone = resolve;
    onError = reject;
  });
  const watch = await new Watch(cluster.kubeConfig).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { fieldSelector: `metadata.name=${name}` },
    (phase, pod: V1Pod) => {
      const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
      if (terminated) seen(terminated.exitCode);
      if (phase === 'DELETED' && startedAt !== undefined) {
        seen(undefined);
        onGone();
      }
    },
    (error: unknown) => {
      if (error) onError(error as Error);
    },
  );
  try {
    // Let the watch connect before the delete is sent.
    await new Promise((resolve) => setTimeout(resolve, 500));
    startedAt = performance.now();
    await cluster.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds });
    await gone;
  } finally {
    watch.abort();
  }
  if (!exit) throw new Error(`no termination seen for ${namespace}/${name}`);
  return exit;
}

/** `lgtest load` from the host against a URL (a Service's ClusterIP, through kube-proxy's rules) until stopped. */
export function startLoad(url: string): { stop(): Promise<{ sent: number; failed: number; errors: Record<string, number> }> } {
  const child = spawn(join(clusterBinDir(), 'lgtest'), ['load', '-url', url, '-interval', '5ms'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(output) as { sent: number; failed: number; errors: Record<string, number> };
    },
  };
}

/** Waits until the Deployment's rollout is complete. */
export async function rolloutStatus(cluster: Cluster, namespace: string, name: string): Promise<void> {
  const result = await cluster.kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=180s']);
  if (result.code !== 0) throw new Error(`rollout of ${namespace}/${name} not complete: ${result.stderr}`);
}

export async function serviceUrl(cluster: Cluster, namespace: string, name: string): Promise<string> {
  const service = await cluster.core.readNamespacedService({ name, namespace });
  return `http://${service.spec?.clusterIP}/`;
}

/** Whether `url` answers 200 within a second. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { timeout: 1000, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** Waits until `url` answers (e.g. a Service once its first Pod serves). */
export async function waitUntilAnswers(url: string, timeoutMs = 120_000): Promise<void> {
  await eventually(() => answers(url), timeoutMs, `${url} to answer`);
}

/** The Pods of a Deployment (label app=name), terminating ones included. */
export async function podsOf(cluster: Cluster, namespace: string, name: string): Promise<V1Pod[]> {
  const pods = await cluster.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
  return pods.items;
}
