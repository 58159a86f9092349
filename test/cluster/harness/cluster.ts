// A real single-node Kubernetes cluster on this machine, without Docker: the e2e control plane
// (etcd + kube-apiserver, test/e2e/harness/control-plane.ts) plus kube-controller-manager,
// kube-scheduler, a kubelet on Debian's containerd + runc, CNI bridge networking and kube-proxy in
// iptables mode. Images come from a loopback registry the harness fills with test images built
// from test/cluster/lgtest (see images.ts). Not a test file itself.
//
// Fixed names (one cluster at a time on a machine; the suite runs its files one by one):
//   node "lg-node" with address NODE_IP on lo, Pods in POD_CIDR on the bridge BRIDGE,
//   Services in 10.0.0.0/24 (the control plane's range), reachable from the host through kube-proxy.
//
// Machine specifics handled here (see test/cluster/README.md):
//   - cgroup v1 is mounted: the kubelet runs with failCgroupV1: false, cgroupDriver cgroupfs and
//     without QoS cgroups (cgroupsPerQOS: false), so it creates no cgroup tree of its own.
//   - root here lacks CAP_SYS_RESOURCE: containerd's restrict_oom_score_adj keeps runc from
//     lowering oom_score_adj (runc create fails with "can't get final child's PID from pipe" otherwise).
//   - no dummy network device: the node address is a /32 on lo (the kubelet refuses 127.0.0.1).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../e2e/harness/webhook.js';
import { freePort, pinnedKubernetesVersion, startControlPlane, type ControlPlane } from '../../e2e/harness/control-plane.js';

const CLUSTER_DIR = join(import.meta.dirname, '..');
const CLEANUP = join(CLUSTER_DIR, 'cleanup.sh');
export const NODE_NAME = 'lg-node';
export const NODE_IP = '10.87.0.1';
export const POD_CIDR = '10.88.0.0/24';
const BRIDGE = 'lg-cni0';
const DIR_PREFIX = 'lifecycle-guard-cluster-';

/** Directory of build-binaries.sh's output: $CLUSTER_BIN, or the cache directory for the pinned Kubernetes version. */
export function clusterBinDir(): string {
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.CLUSTER_BIN || join(cacheHome, 'lifecycle-guard', 'cluster', pinnedKubernetesVersion());
}

export interface Node {
  controlPlane: ControlPlane;
  /** The node's working directory (configs, logs, containerd and kubelet state). */
  dir: string;
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** Image the Pod sandboxes run (containerd's sandbox_image). */
  sandboxImage: string;
  /** Registries containerd pulls from over plain HTTP (host:port). */
  plainHttpRegistries: string[];
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Cleans up after earlier runs whose test process and watchdog both died (their owner pid is gone). */
async function removeAbandonedNodes(): Promise<void> {
  for (const name of readdirSync(tmpdir()).filter((entry) => entry.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), name);
    const ownerFile = join(dir, 'owner.pid');
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
    if (owner > 0 && existsSync(`/proc/${owner}`)) continue;
    await run('bash', [CLEANUP, dir]);
  }
}

/** Runs cleanup.sh once this process is gone, even if it was SIGKILLed and ran no exit handler. */
function startWatchdog(dir: string): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    [
      '-c',
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" "$3"',
      'lifecycle-guard-cluster-watchdog',
      String(process.pid),
      CLEANUP,
      dir,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  return watchdog;
}

function containerdConfig(dir: string, options: NodeOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
[grpc]
  address = "${dir}/containerd/containerd.sock"
[ttrpc]
  address = "${dir}/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"
[${cri}]
  sandbox_image = "${options.sandboxImage}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = "${dir}/runc"
        SystemdCgroup = false
  [${cri}.cni]
    bin_dir = "${clusterBinDir()}/cni"
    conf_dir = "${dir}/cni/net.d"
  [${cri}.registry]
    config_path = "${dir}/containerd/certs.d"
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'lg-cluster',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: `${dir}/cni/ipam` },
      },
    ],
  });
}

function kubeletConfig(dir: string, ports: { kubelet: number; healthz: number }): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // cgroup v1 on this machine; the kubelet refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    address: NODE_IP,
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.healthz,
    containerRuntimeEndpoint: `unix://${dir}/containerd/containerd.sock`,
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    // Test Pods must not be evicted because the shared disk of the machine is full-ish.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    resolvConf: '/etc/resolv.conf',
    // Status changes reach the API server sooner (default 10 s between node status reports).
    nodeStatusUpdateFrequency: '4s',
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the control plane and the node, and waits until the node is Ready. */
export async function startNode(options: NodeOptions): Promise<Node> {
  const bin = clusterBinDir();
  for (const name of ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager', 'cni/bridge']) {
    if (!existsSync(join(bin, name))) throw new Error(`${join(bin, name)} missing: run \`bash test/cluster/build-binaries.sh\` first`);
  }
  await removeAbandonedNodes();
  const controlPlane = await startControlPlane({ startTimeoutMs: 180_000 });
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  writeFileSync(
    join(dir, 'node.env'),
    [`NODE_IP=${NODE_IP}`, `BRIDGE=${BRIDGE}`, `KUBE_PROXY=${join(bin, 'kube-proxy')}`, `RUNC_ROOT=${dir}/runc/k8s.io`].join('\n') + '\n',
  );
  for (const sub of ['pids', 'logs', 'cni/net.d', 'containerd']) mkdirSync(join(dir, sub), { recursive: true });
  const watchdog = startWatchdog(dir);
  const logs: Record<string, string> = {};
  const processes: ChildProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      watchdog.kill('SIGKILL');
      await run('bash', [CLEANUP, dir]);
      await controlPlane.stop();
    })());

  // The directory goes with stop(), so a failed start reports the end of the log it needs.
  const logTail = (name: string) =>
    `the end of ${name}'s log:\n${readFileSync(logs[name] ?? '/dev/null', 'utf8')
      .split('\n')
      .slice(-30)
      .join('\n')}`;
  const start = (name: string, args: string[]): ChildProcess => {
    logs[name] = join(dir, 'logs', `${name}.log`);
    const fd = openSync(logs[name], 'a');
    const child = spawn(name === 'containerd' ? '/usr/bin/containerd' : join(bin, name), args, {
      stdio: ['ignore', fd, fd],
      env: { ...controlPlane.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    closeSync(fd);
    child.unref();
    child.on('error', () => undefined);
    processes.push(child);
    writeFileSync(join(dir, 'pids', `${String(processes.length).padStart(2, '0')}-${name}.pid`), String(child.pid));
    return child;
  };

  try {
    await run('ip', ['addr', 'add', `${NODE_IP}/32`, 'dev', 'lo']);
    writeFileSync(join(dir, 'containerd', 'config.toml'), containerdConfig(dir, options));
    for (const host of options.plainHttpRegistries) {
      mkdirSync(join(dir, 'containerd', 'certs.d', host), { recursive: true });
      writeFileSync(
        join(dir, 'containerd', 'certs.d', host, 'hosts.toml'),
        `server = "http://${host}"\n[host."http://${host}"]\n  capabilities = ["pull", "resolve"]\n`,
      );
    }
    writeFileSync(join(dir, 'cni', 'net.d', '10-lg-cluster.conflist'), cniConfig(dir));
    const [kubeletPort, healthzPort, proxyHealthz, proxyMetrics, schedulerPort, controllerPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    writeFileSync(join(dir, 'kubelet.json'), kubeletConfig(dir, { kubelet: kubeletPort!, healthz: healthzPort! }));
    const kubeconfig = controlPlane.kubeconfigPath;
    const pki = join(controlPlane.dir, 'pki');

    const containerd = start('containerd', ['--config', join(dir, 'containerd', 'config.toml')]);
    // The kubelet gives up at once if the CRI socket is not there yet.
    const socket = join(dir, 'containerd', 'containerd.sock');
    await eventually(() => Promise.resolve(existsSync(socket) || containerd.exitCode !== null), 60_000, 'containerd to serve');
    start('kube-controller-manager', [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${controllerPort}`,
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${join(pki, 'ca.crt')}`,
      '--use-service-account-credentials=false',
    ]);
    start('kube-scheduler', [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
    ]);
    start('kubelet', [
      `--config=${join(dir, 'kubelet.json')}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(dir, 'kubelet')}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_IP}`,
      '--v=1',
    ]);
    start('kube-proxy', [
      `--kubeconfig=${kubeconfig}`,
      '--proxy-mode=iptables',
      `--hostname-override=${NODE_NAME}`,
      `--cluster-cidr=${POD_CIDR}`,
      `--healthz-bind-address=127.0.0.1:${proxyHealthz}`,
      `--metrics-bind-address=127.0.0.1:${proxyMetrics}`,
      // Leave the machine's conntrack table size alone.
      '--conntrack-max-per-core=0',
      '--nodeport-addresses=primary',
    ]);

    const deadline = Date.now() + 120_000;
    for (;;) {
      const dead = processes.findIndex((child) => child.exitCode !== null || child.signalCode !== null);
      if (dead >= 0) {
        const name = Object.keys(logs)[dead] ?? '?';
        throw new Error(`${name} exited early (${processes[dead]?.exitCode ?? processes[dead]?.signalCode}); ${logTail(name)}`);
      }
      const ready = await controlPlane.kubectl(
        ['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'],
        {
          allowFail: true,
        },
      );
      if (ready.stdout === 'True') break;
      if (Date.now() > deadline) throw new Error(`node not Ready after 120 s; ${logTail('kubelet')}`);
      await sleep(1000);
    }
    return { controlPlane, dir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
