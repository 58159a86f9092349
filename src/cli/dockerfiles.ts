import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { DockerfileError, isDockerfileName } from '../core/dockerfile.js';
import { effectiveMode, type Policy } from '../engine/policy.js';
import { summarize, type ReportFinding } from '../engine/report.js';
import { applyRewrite, checkDockerfile, type DockerfileCheck } from '../rules/dockerfile-pid1.js';
import { noShellEntrypoint } from '../rules/no-shell-entrypoint.js';
import type { CheckResult } from './check.js';
import type { FixedFile } from './fix.js';
import { expandPaths, InputError, readManifests, type ManifestFile } from './manifests.js';

export interface DockerfileInput {
  path: string;
  text: string;
}

export interface Inputs {
  manifests: ManifestFile[];
  dockerfiles: DockerfileInput[];
}

/** Reads the inputs of check and fix: Dockerfiles by name (or named by --dockerfile), manifests otherwise. */
export function readInputs(paths: readonly string[], dockerfilePaths: readonly string[], readStdin: () => string): Inputs {
  if (paths.length === 0 && dockerfilePaths.length === 0) throw new InputError('nothing to read: give manifests, directories, - for stdin, or --dockerfile PATH');
  const expanded = expandPaths(paths);
  const isDockerfile = (path: string) => path !== '-' && isDockerfileName(basename(path));
  const read = (path: string) => {
    try {
      if (path !== '-' && statSync(path).isDirectory()) throw new InputError(`${path}: --dockerfile needs a file, not a directory`);
      return { path, text: path === '-' ? readStdin() : readFileSync(path, 'utf8') };
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${path}: cannot read: ${(error as Error).message}`);
    }
  };
  return {
    manifests: expanded.filter((path) => !isDockerfile(path)).map((path) => readManifests(path, readStdin)),
    dockerfiles: [...expanded.filter(isDockerfile), ...dockerfilePaths].map(read),
  };
}

/** The rule's verdict on one Dockerfile under the policy; undefined when the policy turns the rule off. */
function check(file: DockerfileInput, policy: Policy): (DockerfileCheck & { mode: 'enforce' | 'audit' }) | undefined {
  const mode = effectiveMode(policy, noShellEntrypoint);
  if (mode === 'off') return undefined;
  const shells = policy.rules[noShellEntrypoint.meta.id]?.shells as string[];
  try {
    return { mode, ...checkDockerfile(file.text, shells) };
  } catch (error) {
    if (error instanceof DockerfileError) throw new InputError(`${file.path}: ${error.message}`);
    throw error;
  }
}

/**
 * Adds the Dockerfiles' findings to a check of manifests (each Dockerfile counts as one object) and
 * returns notes on base images whose ENTRYPOINT and CMD decide PID 1 but were not inspected.
 */
export function checkDockerfiles(result: CheckResult, files: readonly DockerfileInput[], policy: Policy): { result: CheckResult; notes: string[] } {
  const findings: ReportFinding[] = [...result.findings];
  const notes: string[] = [];
  for (const file of files) {
    const verdict = check(file, policy);
    if (verdict?.finding) {
      const { line, stage, message, fix } = verdict.finding;
      findings.push({ file: file.path, line, kind: 'Dockerfile', namespace: '', name: stage, container: '', rule: noShellEntrypoint.meta.id, type: 'validating', mode: verdict.mode, message, fix });
    } else if (verdict?.uninspected) {
      notes.push(`${file.path}:${verdict.uninspected.line}: ${verdict.uninspected.reason}`);
    }
  }
  const summary = { files: (result.summary.files ?? 0) + files.length, ...summarize(result.summary.objects + files.length, findings) };
  return { result: { ...result, findings, summary }, notes };
}

/** `fix` for a Dockerfile: the rewrite of the finding, if any, and what was done (or why not) for stderr. */
export function fixDockerfile(file: DockerfileInput, policy: Policy): FixedFile & { notes: string[] } {
  const finding = check(file, policy)?.finding;
  if (finding === undefined) return { path: file.path, text: file.text, changes: 0, notes: [] };
  const { rewrite } = finding;
  if (rewrite === undefined) return { path: file.path, text: file.text, changes: 0, notes: [`${file.path}:${finding.line}: not fixed: ${finding.fix}`] };
  const note =
    rewrite.kind === 'exec-form'
      ? `${file.path}:${rewrite.line}: rewritten in exec form: ${rewrite.instruction}`
      : `${file.path}:${rewrite.line}: kept in shell form (it needs a shell); added \`${rewrite.text.trim()}\`: ${rewrite.instruction}`;
  return { path: file.path, text: applyRewrite(file.text, rewrite), changes: 1, notes: [note] };
}
