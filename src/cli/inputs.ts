import { basename } from 'node:path';
import { isDockerfileName } from '../core/dockerfile.js';
import { getPath } from '../core/types.js';
import type { NamespaceLabels } from '../engine/exceptions.js';
import { InputError } from './input-error.js';
import {
  expandPaths,
  isNamespaceObject,
  manifestValues,
  namespaceLabelsIn,
  readInputText,
  templateHint,
  type Reading,
} from './manifests.js';
import type { InputProblem } from './report-format.js';

export interface DockerfileInput {
  path: string;
  text: string;
}

/**
 * What the command line names, in order, before any manifest is read: manifests are read later, one
 * file at a time (and again when a first pass is needed); Dockerfiles are read at once (the image
 * lookup needs their base images first); stdin, which cannot be read twice, is kept.
 */
export interface InputList {
  /** Manifests to read, and paths that could not be listed or read, in order. */
  entries: Array<{ manifest: string; stdin?: string } | { problem: InputProblem }>;
  /** Dockerfiles found by name, or named by --dockerfile. */
  dockerfiles: DockerfileInput[];
}

export function problemOf(error: unknown, path: string): InputProblem {
  if (!(error instanceof InputError)) throw error;
  return {
    file: error.location?.file ?? path,
    ...(error.location?.line === undefined ? {} : { line: error.location.line }),
    message: error.message,
  };
}

const isDockerfilePath = (path: string) => path !== '-' && isDockerfileName(basename(path));

/** Lists every path (directories expanded): Dockerfiles by name (or named by --dockerfile), manifests otherwise. */
export function listInputs(paths: readonly string[], dockerfilePaths: readonly string[], reading: Reading): InputList {
  if (paths.length === 0 && dockerfilePaths.length === 0)
    throw new InputError('nothing to read: give manifests, directories, - for stdin, or --dockerfile PATH');
  const list: InputList = { entries: [], dockerfiles: [] };
  const addDockerfile = (path: string) => {
    try {
      list.dockerfiles.push({ path, text: readInputText(path, reading) });
    } catch (error) {
      list.entries.push({ problem: problemOf(error, path) });
    }
  };
  for (const path of paths) {
    let expanded: string[];
    try {
      expanded = expandPaths([path]);
    } catch (error) {
      list.entries.push({ problem: problemOf(error, path) });
      continue;
    }
    for (const file of expanded) {
      if (isDockerfilePath(file)) addDockerfile(file);
      else if (file !== '-') list.entries.push({ manifest: file });
      else {
        try {
          list.entries.push({ manifest: file, stdin: readInputText(file, reading) });
        } catch (error) {
          list.entries.push({ problem: problemOf(error, file) });
        }
      }
    }
  }
  for (const path of dockerfilePaths) addDockerfile(path);
  return list;
}

/**
 * The text of each manifest, one file at a time, in order. What cannot be read (and the paths that
 * could not be listed) go to `problems` in their place, as do the problems the caller adds for a
 * file before asking for the next: one bad file does not stop the others.
 */
export function* manifestTexts(list: InputList, reading: Reading, problems: InputProblem[]): Generator<{ path: string; text: string }> {
  for (const entry of list.entries) {
    if ('problem' in entry) {
      problems.push(entry.problem);
      continue;
    }
    let text: string;
    try {
      text = entry.stdin ?? readInputText(entry.manifest, reading);
    } catch (error) {
      problems.push(problemOf(error, entry.manifest));
      continue;
    }
    yield { path: entry.manifest, text };
  }
}

/** What the closing notes say about a manifest file that was read. */
export interface ManifestNote {
  path: string;
  /** Not a single object that names its `kind`: empty, comments only, or plain YAML data (values.yaml). */
  withoutObjects: boolean;
  /** Why its objects may not be what gets applied (templateHint: `{{`, perhaps an unrendered template); '' when nothing. */
  templateHint: string;
}

export const namesKind = (object: unknown): boolean => typeof getPath(object, ['kind']) === 'string';

/** `hasObjects`: whether at least one object names its `kind` (see namesKind). */
export function manifestNote(path: string, text: string, hasObjects: boolean): ManifestNote {
  return { path, withoutObjects: !hasObjects, templateHint: templateHint(text) };
}

/** Files without a single object that names its `kind`. */
export function filesWithoutObjects(files: readonly ManifestNote[]): string[] {
  return files.filter((file) => file.withoutObjects).map((file) => file.path);
}

/** The lines `check` and `fix` print on stderr about their inputs. */
export function describeInputs(files: readonly ManifestNote[], invalidFiles: readonly InputProblem[], done: 'checked' | 'fixed'): string {
  const name = (path: string) => (path === '-' ? 'stdin' : path);
  const lines = [
    ...filesWithoutObjects(files).map((file) => `note: no Kubernetes objects found in ${name(file)}`),
    // Template syntax that happens to be valid YAML is checked as written, which is not what gets applied.
    ...files
      .filter((file) => file.templateHint !== '')
      .map((file) => `note: ${name(file.path)} was checked as written${file.templateHint}`),
    ...invalidFiles.map((problem) => `error: ${problem.message}`),
  ];
  if (invalidFiles.length > 0) lines.push(`error: ${invalidFiles.length} file(s) could not be ${done}; the others were`);
  return lines.map((line) => `${line}\n`).join('');
}

/** What a first pass over the manifests keeps (see firstPass). */
export interface FirstPass {
  namespaceLabels?: NamespaceLabels;
  images: string[];
}

/**
 * A pass over every manifest before any object is evaluated, for what the evaluation of one object
 * needs from the others: the labels of Namespace objects (for exceptions with a namespaceSelector)
 * and, with `imagesOf`, the images to inspect (looked up together). It keeps nothing else, and nothing
 * of a file that turns out to be invalid; without anything to look for, it reads nothing.
 */
export function firstPass(
  inputs: InputList,
  reading: Reading,
  wants: { namespaceLabels: boolean; imagesOf?: ((object: unknown) => string[]) | undefined },
): FirstPass {
  const { imagesOf } = wants;
  if (!wants.namespaceLabels && imagesOf === undefined) return { images: [] };
  const namespaces: unknown[] = [];
  const images = new Set<string>();
  for (const { path, text } of manifestTexts(inputs, reading, [])) {
    const found: { namespaces: unknown[]; images: string[][] } = { namespaces: [], images: [] };
    try {
      for (const { object } of manifestValues(path, text)) {
        if (wants.namespaceLabels && isNamespaceObject(object)) found.namespaces.push(object);
        if (imagesOf !== undefined) found.images.push(imagesOf(object));
      }
    } catch (error) {
      problemOf(error, path); // rethrows what is not bad input; bad input is reported by the pass that evaluates
      continue;
    }
    for (const namespace of found.namespaces) namespaces.push(namespace);
    for (const image of found.images.flat()) images.add(image);
  }
  return { ...(wants.namespaceLabels ? { namespaceLabels: namespaceLabelsIn(namespaces) } : {}), images: [...images] };
}
