// test-artifacts/lifecycle-proof.json: the measured numbers of the proofs, with the machine and the
// versions they were measured on. Each proof merges its numbers in, so a partial run keeps the others.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { pinnedKubernetesVersion } from '../../e2e/harness/control-plane.js';

export const PROOF_FILE = resolve('test-artifacts', 'lifecycle-proof.json');

function firstLine(command: string, args: string[]): string {
  try {
    return (
      execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
        .split('\n')[0]
        ?.trim() ?? ''
    );
  } catch {
    return 'unknown';
  }
}

export function recordProof(results: Record<string, number | boolean | string>): void {
  const previous = existsSync(PROOF_FILE) ? (JSON.parse(readFileSync(PROOF_FILE, 'utf8')) as { results?: object }) : {};
  const proof = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
    },
    versions: {
      kubernetes: pinnedKubernetesVersion(),
      containerd: firstLine('/usr/bin/containerd', ['--version']),
      runc: firstLine('/usr/sbin/runc', ['--version']),
      shell: firstLine('/bin/busybox', ['--help']),
    },
    results: { ...previous.results, ...results },
  };
  mkdirSync(dirname(PROOF_FILE), { recursive: true });
  writeFileSync(PROOF_FILE, JSON.stringify(proof, null, 2) + '\n');
}
