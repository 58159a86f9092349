import { basename } from 'node:path';
import { isDockerfileName } from '../core/dockerfile.js';
import { getPath } from '../core/types.js';
import { readRegularFile, RefusedInputError } from './bounded-read.js';
import { expandPaths, InputError, templateHint, type ManifestValues } from './manifests.js';
import type { InputProblem } from './report-format.js';

export interface DockerfileInput {
  path: string;
  text: string;
}

export interface Inputs<File extends ManifestValues = ManifestValues> {
  files: File[];
  /** Dockerfiles found by name, or named by --dockerfile. */
  dockerfiles: DockerfileInput[];
  /** Paths and files that could not be read or parsed: reported, and the others are still checked. */
  invalidFiles: InputProblem[];
}

export function problemOf(error: unknown, path: string): InputProblem {
  if (!(error instanceof InputError)) throw error;
  return {
    file: error.location?.file ?? path,
    ...(error.location?.line === undefined ? {} : { line: error.location.line }),
    message: error.message,
  };
}

/** How check and fix read: stdin and files under the same size cap (regular files only). */
export interface Reader<File extends ManifestValues> {
  readStdin: (maxBytes: number) => string;
  maxBytes: number;
  /** A manifest file: check reads its values, fix its YAML documents too. */
  readManifest: (path: string, readStdin: (maxBytes: number) => string, maxBytes: number) => File;
}

function readDockerfile(path: string, { readStdin, maxBytes }: Reader<ManifestValues>): DockerfileInput {
  try {
    return { path, text: path === '-' ? readStdin(maxBytes) : readRegularFile(path, maxBytes) };
  } catch (error) {
    if (error instanceof RefusedInputError) throw new InputError(error.message, { file: path });
    throw new InputError(`${path}: cannot read: ${(error as Error).message}`, { file: path });
  }
}

const isDockerfilePath = (path: string) => path !== '-' && isDockerfileName(basename(path));

/**
 * Reads every path (directories expanded): Dockerfiles by name (or named by --dockerfile), manifests
 * otherwise. One bad file does not stop the others from being read.
 */
export function readInputs<File extends ManifestValues>(
  paths: readonly string[],
  dockerfilePaths: readonly string[],
  reader: Reader<File>,
): Inputs<File> {
  if (paths.length === 0 && dockerfilePaths.length === 0)
    throw new InputError('nothing to read: give manifests, directories, - for stdin, or --dockerfile PATH');
  const inputs: Inputs<File> = { files: [], dockerfiles: [], invalidFiles: [] };
  const readEach = (files: readonly string[], read: (file: string) => void) => {
    for (const file of files) {
      try {
        read(file);
      } catch (error) {
        inputs.invalidFiles.push(problemOf(error, file));
      }
    }
  };
  for (const path of paths) {
    let expanded: string[];
    try {
      expanded = expandPaths([path]);
    } catch (error) {
      inputs.invalidFiles.push(problemOf(error, path));
      continue;
    }
    readEach(expanded, (file) => {
      if (isDockerfilePath(file)) inputs.dockerfiles.push(readDockerfile(file, reader));
      else inputs.files.push(reader.readManifest(file, reader.readStdin, reader.maxBytes));
    });
  }
  readEach(dockerfilePaths, (file) => inputs.dockerfiles.push(readDockerfile(file, reader)));
  return inputs;
}

/** Files without a single object that names its `kind`: empty, comments only, or plain YAML data (values.yaml). */
export function filesWithoutObjects(files: readonly ManifestValues[]): string[] {
  return files.filter((file) => !file.objects.some(({ object }) => typeof getPath(object, ['kind']) === 'string')).map((file) => file.path);
}

/** The lines `check` and `fix` print on stderr about their inputs. */
export function describeInputs(inputs: Inputs, done: 'checked' | 'fixed'): string {
  const name = (path: string) => (path === '-' ? 'stdin' : path);
  const lines = [
    ...filesWithoutObjects(inputs.files).map((file) => `note: no Kubernetes objects found in ${name(file)}`),
    // Template syntax that happens to be valid YAML is checked as written, which is not what gets applied.
    ...inputs.files
      .filter((file) => templateHint(file.text) !== '')
      .map((file) => `note: ${name(file.path)} was checked as written${templateHint(file.text)}`),
    ...inputs.invalidFiles.map((problem) => `error: ${problem.message}`),
  ];
  if (inputs.invalidFiles.length > 0) lines.push(`error: ${inputs.invalidFiles.length} file(s) could not be ${done}; the others were`);
  return lines.map((line) => `${line}\n`).join('');
}
