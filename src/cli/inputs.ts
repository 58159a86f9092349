import { getPath } from '../core/types.js';
import { expandPaths, InputError, readManifests, templateHint, type ManifestFile } from './manifests.js';
import type { InputProblem } from './report-format.js';

export interface Inputs {
  files: ManifestFile[];
  /** Paths and files that could not be read or parsed: reported, and the others are still checked. */
  invalidFiles: InputProblem[];
}

function problemOf(error: unknown, path: string): InputProblem {
  if (!(error instanceof InputError)) throw error;
  return { file: error.location?.file ?? path, ...(error.location?.line === undefined ? {} : { line: error.location.line }), message: error.message };
}

/** Reads every path (directories expanded); one bad file does not stop the others from being read. */
export function readInputs(paths: readonly string[], readStdin: () => string): Inputs {
  const inputs: Inputs = { files: [], invalidFiles: [] };
  for (const path of paths) {
    let expanded: string[];
    try {
      expanded = expandPaths([path]);
    } catch (error) {
      inputs.invalidFiles.push(problemOf(error, path));
      continue;
    }
    for (const file of expanded) {
      try {
        inputs.files.push(readManifests(file, readStdin));
      } catch (error) {
        inputs.invalidFiles.push(problemOf(error, file));
      }
    }
  }
  return inputs;
}

/** Files without a single object that names its `kind`: empty, comments only, or plain YAML data (values.yaml). */
export function filesWithoutObjects(files: readonly ManifestFile[]): string[] {
  return files.filter((file) => !file.objects.some(({ object }) => typeof getPath(object, ['kind']) === 'string')).map((file) => file.path);
}

/** The lines `check` and `fix` print on stderr about their inputs. */
export function describeInputs(inputs: Inputs, done: 'checked' | 'fixed'): string {
  const name = (path: string) => (path === '-' ? 'stdin' : path);
  const lines = [
    ...filesWithoutObjects(inputs.files).map((file) => `note: no Kubernetes objects found in ${name(file)}`),
    // Template syntax that happens to be valid YAML is checked as written, which is not what gets applied.
    ...inputs.files.filter((file) => templateHint(file.text) !== '').map((file) => `note: ${name(file.path)} was checked as written${templateHint(file.text)}`),
    ...inputs.invalidFiles.map((problem) => `error: ${problem.message}`),
  ];
  if (inputs.invalidFiles.length > 0) lines.push(`error: ${inputs.invalidFiles.length} file(s) could not be ${done}; the others were`);
  return lines.map((line) => `${line}\n`).join('');
}
