import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export const CHART = join(import.meta.dirname, '..', '..', '..', 'charts', 'lifecycle-guard');

/** The helm binary: $HELM, or the one build-helm.sh builds and caches (instant once built). */
export function helmBinary(): string {
  if (process.env.HELM) return process.env.HELM;
  const out = execFileSync('bash', [join(import.meta.dirname, '..', 'build-helm.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const match = /^HELM=(.+)$/m.exec(out);
  if (!match?.[1]) throw new Error(`build-helm.sh printed no HELM=: ${out}`);
  return match[1];
}

/** helm with its config, cache and data in a temporary directory (nothing written to ~). */
export function helmRunner(): (args: string[], env?: NodeJS.ProcessEnv) => { code: number; stdout: string; stderr: string } {
  const binary = helmBinary();
  const home = mkdtempSync(join(tmpdir(), 'lg-helm-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const isolated = { HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data') };
  return (args, env = {}) => {
    const result = spawnSync(binary, args, { encoding: 'utf8', env: { ...process.env, ...isolated, ...env }, timeout: 120_000 });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
}
