import { DockerfileError } from '../core/dockerfile.js';
import { NO_IMAGE_FACTS, type ImageFacts } from '../core/images.js';
import type { ShellJudge } from '../core/shell.js';
import { effectiveMode, type Policy } from '../engine/policy.js';
import { summarize, type ReportFinding } from '../engine/report.js';
import { applyRewrite, baseImageToInspect, checkDockerfile, type DockerfileCheck } from '../rules/dockerfile-pid1.js';
import { noShellEntrypoint } from '../rules/no-shell-entrypoint.js';
import type { CheckResult } from './check.js';
import type { FixedFile } from './fix.js';
import type { DockerfileInput } from './inputs.js';
import { InputError } from './input-error.js';

/** The rule's verdict on one Dockerfile under the policy; undefined when the policy turns the rule off. */
function check(
  file: DockerfileInput,
  policy: Policy,
  images: ImageFacts = NO_IMAGE_FACTS,
): (DockerfileCheck & { mode: 'enforce' | 'audit' }) | undefined {
  const mode = effectiveMode(policy, noShellEntrypoint);
  if (mode === 'off') return undefined;
  // Validated when the policy loaded: the rule's shells and loneCommandShells.
  const shellJudge = policy.rules[noShellEntrypoint.meta.id] as unknown as ShellJudge;
  try {
    return { mode, ...withBaseImage(file.text, shellJudge, images) };
  } catch (error) {
    if (error instanceof DockerfileError) throw new InputError(`${file.path}: ${error.message}`);
    throw error;
  }
}

/** External base images whose ENTRYPOINT/CMD decide a Dockerfile's PID 1 (for `check --inspect-images`). */
export function dockerfileBaseImages(files: readonly DockerfileInput[]): string[] {
  return files.flatMap((file) => {
    try {
      const base = baseImageToInspect(file.text);
      return base === undefined ? [] : [base.image];
    } catch (error) {
      if (error instanceof DockerfileError) return []; // reported when the file is checked
      throw error;
    }
  });
}

/**
 * Judges a Dockerfile with its inspected base image, platform by platform (the first platform whose
 * PID 1 is a shell is named); uninspected, as the file alone tells, with why the base was not read.
 */
function withBaseImage(text: string, shellJudge: ShellJudge, images: ImageFacts): DockerfileCheck {
  const base = baseImageToInspect(text);
  const inspection = base === undefined ? undefined : images.get(base.image);
  if (base === undefined || inspection === undefined) return checkDockerfile(text, shellJudge);
  if (inspection.status === 'uninspected') {
    const verdict = checkDockerfile(text, shellJudge);
    return verdict.uninspected === undefined
      ? verdict
      : { ...verdict, uninspected: { ...verdict.uninspected, reason: `${verdict.uninspected.reason}: ${inspection.reason}` } };
  }
  for (const config of inspection.platforms) {
    const verdict = checkDockerfile(text, shellJudge, config);
    if (verdict.finding !== undefined) {
      return {
        finding: { ...verdict.finding, message: `${verdict.finding.message} (base image ${inspection.reference}, ${config.platform})` },
      };
    }
  }
  return {};
}

/**
 * Adds the Dockerfiles' findings to a check of manifests (each Dockerfile counts as one object) and
 * returns notes on base images whose ENTRYPOINT and CMD decide PID 1 but were not inspected.
 */
export function checkDockerfiles(
  result: CheckResult,
  files: readonly DockerfileInput[],
  policy: Policy,
  onInvalid: (file: DockerfileInput, error: unknown) => void,
  images?: ImageFacts,
): { result: CheckResult; notes: string[] } {
  const findings: ReportFinding[] = [...result.findings];
  const notes: string[] = [];
  let checked = 0;
  for (const file of files) {
    let verdict: ReturnType<typeof check>;
    try {
      verdict = check(file, policy, images);
    } catch (error) {
      onInvalid(file, error);
      continue;
    }
    checked += 1;
    if (verdict?.finding) {
      const { line, stage, message, fix } = verdict.finding;
      findings.push({
        file: file.path,
        line,
        kind: 'Dockerfile',
        namespace: '',
        name: stage,
        container: '',
        rule: noShellEntrypoint.meta.id,
        type: 'validating',
        mode: verdict.mode,
        message,
        fix,
      });
    } else if (verdict?.uninspected) {
      notes.push(`${file.path}:${verdict.uninspected.line}: ${verdict.uninspected.reason}`);
    }
  }
  const summary = {
    ...result.summary,
    files: (result.summary.files ?? 0) + checked,
    ...summarize(result.summary.objects + checked, findings),
  };
  return { result: { ...result, findings, summary }, notes };
}

/** `fix` for a Dockerfile: the rewrite of the finding, if any, and what was done (or why not) for stderr. */
export function fixDockerfile(file: DockerfileInput, policy: Policy): FixedFile & { notes: string[] } {
  const finding = check(file, policy)?.finding;
  if (finding === undefined) return { path: file.path, text: file.text, changes: 0, errors: [], notes: [] };
  const { rewrite } = finding;
  if (rewrite === undefined)
    return { path: file.path, text: file.text, changes: 0, errors: [], notes: [`${file.path}:${finding.line}: not fixed: ${finding.fix}`] };
  const note =
    rewrite.kind === 'exec-form'
      ? `${file.path}:${rewrite.line}: rewritten in exec form: ${rewrite.instruction}`
      : `${file.path}:${rewrite.line}: kept in shell form (it needs a shell); added \`${rewrite.text.trim()}\`: ${rewrite.instruction}`;
  return { path: file.path, text: applyRewrite(file.text, rewrite), changes: 1, errors: [], notes: [note] };
}
