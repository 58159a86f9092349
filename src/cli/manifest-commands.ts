// `check` and `fix`: manifests and Dockerfiles read from files or stdin, under the same policy.
import { writeFileSync } from 'node:fs';
import type { ClusterInfo } from '../core/types.js';
import { readsNamespaceLabels } from '../engine/exceptions.js';
import { readBounded } from './bounded-read.js';
import { formatRuleError, ManifestChecker } from './check.js';
import { checkDockerfiles, dockerfileBaseImages, fixDockerfile } from './dockerfiles.js';
import { EXIT } from './exit-codes.js';
import { fixManifests, type FixedFile } from './fix.js';
import {
  describeInputs,
  filesWithoutObjects,
  firstPass,
  listInputs,
  manifestTexts,
  problemOf,
  manifestNote,
  type ManifestNote,
} from './inputs.js';
import { InputError } from './input-error.js';
import { manifestValues, parseManifests, type ManifestFile } from './manifests.js';
import { loadPolicyFile } from './policy-file.js';
import { formatJson, formatTable, type InputProblem } from './report-format.js';
import { styleFor } from './style.js';

function readStdin(maxBytes: number): string {
  return readBounded(0, '-', maxBytes);
}

export interface CheckOptions {
  policy?: string;
  output: 'table' | 'json';
  kubeVersion?: ClusterInfo;
  dockerfile: string[];
  inspectImages?: boolean;
  registryConfig?: string;
  maxFileSize: number;
}

export async function runCheck(paths: string[], options: CheckOptions): Promise<number> {
  const policy = loadPolicyFile(options.policy);
  const reading = { readStdin, maxBytes: options.maxFileSize };
  const inputs = listInputs(paths, options.dockerfile, reading);
  // Loaded only when asked for: CI often runs offline, and `check` stays quick to start.
  const images = options.inspectImages ? await import('./images.js') : undefined;
  const found = firstPass(inputs, reading, {
    namespaceLabels: readsNamespaceLabels(policy.exceptions),
    imagesOf: images?.manifestImagesOf(policy),
  });
  const facts = await images?.inspectManifestImages(
    [...found.images, ...dockerfileBaseImages(inputs.dockerfiles)],
    policy,
    options.registryConfig,
  );
  const checker = new ManifestChecker(policy, {
    ...(options.kubeVersion === undefined ? {} : { cluster: options.kubeVersion }),
    ...(found.namespaceLabels === undefined ? {} : { namespaceLabels: found.namespaceLabels }),
    ...(facts === undefined ? {} : { images: facts }),
  });
  const invalidFiles: InputProblem[] = [];
  const files: ManifestNote[] = [];
  // One file at a time, one document at a time: memory follows the largest document, not the inputs.
  for (const { path, text } of manifestTexts(inputs, reading, invalidFiles)) {
    try {
      files.push(manifestNote(path, text, checker.checkFile(path, manifestValues(path, text)) > 0));
    } catch (error) {
      invalidFiles.push(problemOf(error, path));
    }
  }
  const { result, notes } = checkDockerfiles(
    checker.result(),
    inputs.dockerfiles,
    policy,
    (file, error) => invalidFiles.push(problemOf(error, file.path)),
    facts,
  );
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
  const uninspected = images?.uninspectedImages(facts) ?? [];
  for (const { image, reason } of uninspected)
    process.stderr.write(`warning: image ${image} not inspected (its ENTRYPOINT/CMD was not checked): ${reason}\n`);
  const { errors, ...checked } = result;
  const report = { ...checked, invalidFiles, filesWithoutObjects: filesWithoutObjects(files) };
  process.stdout.write(
    options.output === 'json'
      ? formatJson({ ...report, ...(options.inspectImages ? { uninspectedImages: uninspected } : {}) })
      : formatTable(report, (finding) => finding.file ?? '', styleFor(process.stdout)),
  );
  for (const error of errors) process.stderr.write(formatRuleError(error));
  process.stderr.write(describeInputs(files, invalidFiles, 'checked'));
  if (errors.length > 0 || invalidFiles.length > 0) return EXIT.badInput;
  return report.summary.denied > 0 ? EXIT.denied : EXIT.clean;
}

export function runFix(
  paths: string[],
  options: { policy?: string; write?: boolean; kubeVersion?: ClusterInfo; dockerfile: string[]; maxFileSize: number },
): number {
  const policy = loadPolicyFile(options.policy);
  if (options.write && [...paths, ...options.dockerfile].includes('-')) throw new InputError('--write cannot write back to stdin (-)');
  const reading = { readStdin, maxBytes: options.maxFileSize };
  const inputs = listInputs(paths, options.dockerfile, reading);
  const { namespaceLabels } = firstPass(inputs, reading, { namespaceLabels: readsNamespaceLabels(policy.exceptions) });
  // Counts what audit mode holds back, as check would.
  const checker = new ManifestChecker(policy, {
    ...(options.kubeVersion === undefined ? {} : { cluster: options.kubeVersion }),
    ...(namespaceLabels === undefined ? {} : { namespaceLabels }),
  });
  const invalidFiles: InputProblem[] = [];
  const files: ManifestNote[] = [];
  const fixedManifests: FixedFile[] = [];
  // One file at a time: only the fixed texts are kept until they are written.
  for (const { path, text } of manifestTexts(inputs, reading, invalidFiles)) {
    let file: ManifestFile;
    try {
      file = parseManifests(path, text);
    } catch (error) {
      invalidFiles.push(problemOf(error, path));
      continue;
    }
    fixedManifests.push(fixManifests(file, policy, options.kubeVersion, namespaceLabels, options.maxFileSize));
    files.push(manifestNote(path, text, checker.checkFile(path, file.objects) > 0));
  }
  const errors = fixedManifests.flatMap((file) => file.errors);
  if (errors.length > 0) {
    // Nothing is written or printed: a manifest with some of its fixes missing would pass for fixed.
    for (const error of errors) process.stderr.write(formatRuleError(error));
    return EXIT.badInput;
  }
  const fixedDockerfiles = inputs.dockerfiles.flatMap((file) => {
    try {
      return [fixDockerfile(file, policy)];
    } catch (error) {
      invalidFiles.push(problemOf(error, file.path));
      return [];
    }
  });
  for (const note of fixedDockerfiles.flatMap((file) => file.notes)) process.stderr.write(`${note}\n`);
  const fixed = [...fixedManifests, ...fixedDockerfiles];
  for (const file of fixed) {
    if (options.write) {
      if (file.changes > 0) writeFileSync(file.path, file.text);
      process.stderr.write(`${file.path}: ${file.changes === 0 ? 'unchanged' : `${file.changes} change(s) written`}\n`);
    } else {
      if (fixed.length > 1) process.stdout.write(`# Source: ${file.path}\n`);
      process.stdout.write(file.text.endsWith('\n') || file.text === '' ? file.text : `${file.text}\n`);
      if (fixed.length > 1 && file !== fixed[fixed.length - 1]) process.stdout.write('---\n');
    }
  }
  process.stderr.write(describeInputs(files, invalidFiles, 'fixed'));
  // Like the mutating webhook, fix applies only rules in enforce mode; say what audit mode held back.
  const { auditMutations } = checker.result().summary;
  if (auditMutations > 0)
    process.stderr.write(
      `note: ${auditMutations} change(s) of mutating rules in audit mode not applied, as the webhook does not apply them (set the rule's mode to enforce)\n`,
    );
  return invalidFiles.length > 0 ? EXIT.badInput : EXIT.clean;
}
