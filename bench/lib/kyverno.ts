// Kyverno's admission controller as a webhook peer: a local process against the e2e harness's
// control plane (etcd + kube-apiserver), set up from its own install manifest (CRDs, namespace,
// ServiceAccounts, ConfigMaps; the container's flags and environment), with `--serverIP` so that it
// registers its webhooks by URL and needs no Deployment. It creates its own certificate Secrets.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../test/e2e/harness/control-plane.js';
import { freePort, startChild, stopChild, waitUntilReady } from './processes.js';

const PEER_MODULE = join(import.meta.dirname, '..', 'peers', 'kyverno');
const POLICY = join(PEER_MODULE, 'policy.yaml');
const POLICY_NAME = 'lifecycle';
const NAMESPACE = 'kyverno';
const POD_NAME = 'kyverno-admission-controller-local';
/** Where Kyverno serves the webhooks its policies need (failurePolicy Fail). */
export const KYVERNO_PATHS = { validate: '/validate/fail', mutate: '/mutate/fail' };

/** The kyverno module's directory in the Go module cache (the version pinned in bench/peers/kyverno/go.mod). */
function moduleDir(): string {
  const download = spawnSync('go', ['mod', 'download', '-json', 'github.com/kyverno/kyverno'], { cwd: PEER_MODULE, encoding: 'utf8' });
  if (download.status !== 0)
    throw new Error(`go mod download github.com/kyverno/kyverno failed: ${download.stderr || download.error?.message}`);
  const dir = (JSON.parse(download.stdout) as { Dir?: string }).Dir;
  if (dir === undefined) throw new Error(`go mod download printed no Dir: ${download.stdout.slice(0, 300)}`);
  return dir;
}

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
}

/** What config/install-latest-testing.yaml holds for a local run: the objects before the CRDs, and the admission controller's container. */
function installManifest(dir: string): { prelude: string; container: Container } {
  const documents = readFileSync(join(dir, 'config', 'install-latest-testing.yaml'), 'utf8').split(/^---$/m);
  const firstCrd = documents.findIndex((text) => /^kind: CustomResourceDefinition$/m.test(text));
  const prelude = documents.slice(0, firstCrd).join('---\n');
  const deployment = documents
    .filter((text) => /^kind: Deployment$/m.test(text) && /^ {2}name: kyverno-admission-controller$/m.test(text))
    .map((text) => parse(text) as { spec: { template: { spec: { containers: Container[] } } } })[0];
  const container = deployment?.spec.template.spec.containers.find(({ name }) => name === 'kyverno');
  if (firstCrd <= 0 || container === undefined)
    throw new Error('config/install-latest-testing.yaml: no objects before the CRDs, or no kyverno container');
  return { prelude, container };
}

/** The container's flags with the ports that must be free here replaced, and the flags of a local run added. */
function flags(container: Container, kubeconfig: string, ports: { webhook: number; metrics: number; runtimeMetrics: number }): string[] {
  const replaced = new Set(['--webhookServerPort', '--metricsPort', '--controllerRuntimeMetricsAddress']);
  return [
    ...(container.args ?? []).map((arg) => arg.trim()).filter((arg) => arg !== '' && !replaced.has(arg.split('=')[0] ?? '')),
    `--metricsPort=${ports.metrics}`,
    `--controllerRuntimeMetricsAddress=127.0.0.1:${ports.runtimeMetrics}`,
    `--kubeconfig=${kubeconfig}`,
    `--serverIP=127.0.0.1:${ports.webhook}`,
    '--webhookServerHost=127.0.0.1',
    `--webhookServerPort=${ports.webhook}`,
  ];
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface KyvernoWebhook {
  url: string;
  pid: number;
  /** Kyverno's own log, last lines (for a failure message). */
  logTail(): string;
  stop(): Promise<void>;
}

/** Starts Kyverno with the bench's ClusterPolicy (bench/peers/kyverno/policy.yaml) Ready; throws with the reason when it cannot. */
export async function startKyverno(binary: string, log: (line: string) => void): Promise<KyvernoWebhook> {
  const dir = moduleDir();
  const { prelude, container } = installManifest(dir);
  const cluster: ControlPlane = await startControlPlane();
  let logText = '';
  let child: ReturnType<typeof startChild> | undefined;
  const stop = async () => {
    if (child !== undefined) await stopChild(child);
    // Kyverno leaves its webhook configurations behind when it exits.
    await cluster.kubectl(
      ['delete', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-l', 'webhook.kyverno.io/managed-by=kyverno'],
      {
        allowFail: true,
      },
    );
    await cluster.stop();
  };
  try {
    await cluster.kubectl(['apply', '--server-side', '-R', '-f', join(dir, 'config', 'crds')], { timeoutMs: 180_000 });
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: prelude });
    const ports = { webhook: await freePort(), metrics: await freePort(), runtimeMetrics: await freePort() };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...Object.fromEntries((container.env ?? []).flatMap(({ name, value }) => (value === undefined ? [] : [[name, value]]))),
      // From the Pod's fieldRefs in the manifest.
      KYVERNO_NAMESPACE: NAMESPACE,
      KYVERNO_POD_NAME: POD_NAME,
    };
    for (const name of [
      'KYVERNO_SERVICEACCOUNT_NAME',
      'KYVERNO_ROLE_NAME',
      'KYVERNO_DEPLOYMENT',
      'KYVERNO_SVC',
      'INIT_CONFIG',
      'METRICS_CONFIG',
    ]) {
      if (env[name] === undefined) throw new Error(`the kyverno container in the manifest sets no ${name}`);
    }
    log(`starting Kyverno (${binary}) against ${cluster.serverUrl}, webhooks on 127.0.0.1:${ports.webhook}`);
    child = startChild(binary, flags(container, cluster.kubeconfigPath, ports), {
      env,
      log: (text) => (logText = (logText + text).slice(-20_000)),
    });
    const url = `https://127.0.0.1:${ports.webhook}`;
    await waitUntilReady(`${url}/health/readiness`, child, 180_000);
    await cluster.kubectl(['apply', '-f', POLICY]);
    await waitFor(`ClusterPolicy ${POLICY_NAME} Ready`, 120_000, async () => {
      const ready = await cluster.kubectl(
        ['get', 'clusterpolicy', POLICY_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
        {
          allowFail: true,
        },
      );
      return ready.stdout.trim() === 'True';
    });
    if (child.pid === undefined) throw new Error('kyverno has no pid');
    return { url, pid: child.pid, logTail: () => logText.slice(-2000), stop };
  } catch (error) {
    const tail = logText.split('\n').slice(-15).join('\n');
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}${tail ? `\nKyverno's last log lines:\n${tail}` : ''}`, {
      cause: error,
    });
  }
}
