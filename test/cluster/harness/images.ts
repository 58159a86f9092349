// The cluster suite's images, built by the tests and pushed to a plain-HTTP loopback registry
// (Debian's docker-registry, test/images/harness.ts) with crane: containerd pulls them from there and
// the webhook inspects them there. Nothing is pulled from the internet.
//
// One layer for all: the static lgtest binary (test/cluster/lgtest) at /lgtest, and a static busybox
// (Debian's busybox-static) at /bin/busybox with /bin/sh linked to it, for the shell-as-PID-1 proofs.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureRegistryInstalled, startRegistry, type RunningRegistry } from '../../images/harness.js';
import { clusterBinDir } from './cluster.js';

const execFileAsync = promisify(execFile);

export interface TestImages {
  registry: RunningRegistry;
  /** The Pod sandbox's image: `lgtest pause`. */
  pause: string;
  /** ENTRYPOINT ["/lgtest", "serve"] (exec form). */
  server: string;
  /** ENTRYPOINT /lgtest serve as a Dockerfile's shell form stores it: ["/bin/sh", "-c", "/lgtest serve"]. */
  serverShellForm: string;
}

async function crane(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(join(clusterBinDir(), 'crane'), ['--insecure', ...args]);
  return stdout.trim();
}

/** Starts the registry and pushes the test images to it. */
export async function buildTestImages(): Promise<TestImages> {
  ensureRegistryInstalled();
  const registry = await startRegistry('plain-http');
  const work = mkdtempSync(join(tmpdir(), 'lg-cluster-images-'));
  try {
    const rootfs = join(work, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(join(clusterBinDir(), 'lgtest'), join(rootfs, 'lgtest'));
    copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
    const layer = join(work, 'layer.tar');
    await execFileAsync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', layer, '.']);
    const base = `${registry.host}/lg/base:1`;
    await crane(['append', '--oci-empty-base', '-f', layer, '-t', base]);
    const image = async (name: string, entrypoint: string[]) => {
      const reference = `${registry.host}/lg/${name}:1`;
      await crane(['mutate', '--set-platform', 'linux/amd64', '--entrypoint', entrypoint.join(','), base, '-t', reference]);
      return reference;
    };
    return {
      registry,
      pause: await image('pause', ['/lgtest', 'pause']),
      server: await image('server', ['/lgtest', 'serve']),
      serverShellForm: await image('server-shell-form', ['/bin/sh', '-c', '/lgtest serve']),
    };
  } catch (error) {
    await registry.stop();
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
