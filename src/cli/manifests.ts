import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jsyaml from 'js-yaml';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { isDockerfileName } from '../core/dockerfile.js';
import { asString, getPath, isObject, objectName } from '../core/types.js';
import { DEFAULT_MAX_FILE_BYTES, readRegularFile, RefusedInputError } from './bounded-read.js';

/** Bad input (missing file, unparseable YAML): the CLI exits 2 with this message. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    /** The file (and line) at fault, when the error is about one input file. */
    readonly location?: { file: string; line?: number },
  ) {
    super(message);
  }
}

/** Unrendered Helm (Go template) syntax makes a file invalid YAML or not what gets applied. */
export function templateHint(text: string): string {
  return text.includes('{{')
    ? ` (it contains {{ }}: if it is a Helm template, check the rendered output: helm template CHART | lifecycle-guard check -)`
    : '';
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ManifestObject {
  object: unknown;
  /** The parsed document that holds the object (`fix` edits it in place). */
  document: Document.Parsed;
  /** Path of the object inside its document: [] for a plain document, ['items', i] inside a List. */
  path: (string | number)[];
  /** 1-based line where the object starts. */
  line: number;
}

export interface ManifestFile {
  /** As given on the command line, or `-` for stdin. */
  path: string;
  text: string;
  documents: Document.Parsed[];
  objects: ManifestObject[];
}

/** Files named on the command line, with directories expanded to manifests and Dockerfiles (recursively, sorted; hidden folders skipped). */
export function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    if (path === '-') return [path];
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message;
      throw new InputError(`${path}: ${reason}`, { file: path });
    }
    return stats.isDirectory() ? manifestsIn(path) : [path];
  });
}

function manifestsIn(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return entry.name.startsWith('.') || entry.name === 'node_modules' ? [] : manifestsIn(path);
      return MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) || isDockerfileName(entry.name) ? [path] : [];
    });
}

/** Kubernetes lists (`kind: List`, `DeploymentList`, ...) hold their objects in `items`. */
function isList(value: unknown): boolean {
  return isObject(value) && Array.isArray(value.items) && (asString(value.kind)?.endsWith('List') ?? false);
}

/** Parses a manifest text: multi-document YAML, flow style, JSON, and lists of objects. */
export function parseManifests(path: string, text: string): ManifestFile {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  if (!Array.isArray(documents)) return { path, text, documents: [], objects: [] };
  const objects: ManifestObject[] = [];
  for (const document of documents) {
    const error = document.errors[0];
    if (error) {
      const position = error.linePos?.[0];
      const where = position ? `:${position.line}:${position.col}` : '';
      throw new InputError(
        `${path}${where}: invalid YAML: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}${templateHint(text)}`,
        {
          file: path,
          ...(position ? { line: position.line } : {}),
        },
      );
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      throw new InputError(`${path}: invalid YAML: ${(error as Error).message}`, { file: path }); // e.g. an alias bomb
    }
    const lineOf = (node: unknown) => lineCounter.linePos((getPath(node, ['range']) as number[] | undefined)?.[0] ?? 0).line;
    if (isList(value)) {
      (getPath(value, ['items']) as unknown[]).forEach((item, index) => {
        if (isObject(item))
          objects.push({ object: item, document, path: ['items', index], line: lineOf(document.getIn(['items', index], true)) });
      });
    } else if (value !== null && value !== undefined) {
      objects.push({ object: value, document, path: [], line: lineOf(document.contents) });
    }
  }
  return { path, text, documents, objects };
}

/** The text of a manifest file (or stdin for `-`): regular files only, at most maxBytes. */
function readText(path: string, readStdin: (maxBytes: number) => string, maxBytes: number): string {
  try {
    return path === '-' ? readStdin(maxBytes) : readRegularFile(path, maxBytes);
  } catch (error) {
    if (error instanceof RefusedInputError) throw new InputError(error.message, { file: path });
    throw new InputError(`${path}: cannot read: ${(error as Error).message}`, { file: path });
  }
}

export function readManifests(path: string, readStdin: (maxBytes: number) => string, maxBytes = DEFAULT_MAX_FILE_BYTES): ManifestFile {
  return parseManifests(path, readText(path, readStdin, maxBytes));
}

/** What `check` needs of a file: its text, its objects and the line each starts on. */
export interface ManifestValues {
  path: string;
  text: string;
  objects: Array<{ object: unknown; line: number }>;
}

/**
 * Text the fast reader could read differently from `yaml`: directives (%YAML 1.1 changes the
 * schema), anchors, aliases and tags at the start of a node, binary integers.
 */
const NEEDS_EXACT_READER = /^%|(?:^|[\s:[{,-])[&*!]|(?:^|[\s:[{,-])[-+]?0b[01]/m;

/** The documents of a YAML text with js-yaml's YAML 1.2 core schema, and the line each starts on. */
function fastDocuments(path: string, text: string): Array<{ value: unknown; line: number }> {
  const values: unknown[] = [];
  const lines: number[] = [];
  let depth = 0;
  jsyaml.loadAll(text, (value) => values.push(value), {
    filename: path,
    schema: jsyaml.CORE_SCHEMA,
    listener(event, state) {
      if (event === 'close') depth -= 1;
      else if (depth++ === 0) lines.push(state.line + 1);
    },
  });
  if (lines.length !== values.length) throw new Error('document lines not found');
  return values.map((value, index) => ({ value, line: lines[index] ?? 1 }));
}

/**
 * The objects of a manifest text, as parseManifests reads them, about ten times faster: `check`
 * on a repository of manifests spends most of its time here. js-yaml reads the plain documents;
 * what it could read differently (see NEEDS_EXACT_READER), Kubernetes lists (whose items need their
 * own lines) and anything it refuses go through parseManifests, which also words the errors.
 */
export function parseManifestValues(path: string, text: string): ManifestValues {
  if (!NEEDS_EXACT_READER.test(text)) {
    let documents: Array<{ value: unknown; line: number }> | undefined;
    try {
      documents = fastDocuments(path, text);
    } catch {
      documents = undefined;
    }
    if (documents !== undefined && !documents.some(({ value }) => isList(value))) {
      const objects = documents
        .filter(({ value }) => value !== null && value !== undefined)
        .map(({ value, line }) => ({ object: value, line }));
      return { path, text, objects };
    }
  }
  const { objects } = parseManifests(path, text);
  return { path, text, objects: objects.map(({ object, line }) => ({ object, line })) };
}

/** What `check` reads of a file, under the same limits as readManifests (size cap, regular files only). */
export function readManifestValues(
  path: string,
  readStdin: (maxBytes: number) => string,
  maxBytes = DEFAULT_MAX_FILE_BYTES,
): ManifestValues {
  return parseManifestValues(path, readText(path, readStdin, maxBytes));
}

/** Identity of an object for reports: kind, namespace and name, whatever the object holds. */
export function objectIdentity(object: unknown): { kind: string; namespace: string; name: string } {
  return {
    kind: asString(getPath(object, ['kind'])) ?? '',
    namespace: asString(getPath(object, ['metadata', 'namespace'])) ?? '',
    name: objectName(object),
  };
}

/**
 * Labels of the Namespace objects among the files, for exceptions with a namespaceSelector: a
 * namespace without a Namespace object in the input has unknown labels, and such exceptions do not apply to it.
 */
export function namespaceLabelsIn(files: readonly ManifestValues[]): (namespace: string) => Record<string, string> | undefined {
  const labels = new Map<string, Record<string, string>>();
  for (const file of files) {
    for (const { object } of file.objects) {
      const name = asString(getPath(object, ['metadata', 'name']));
      if (!isObject(object) || object.kind !== 'Namespace' || name === undefined) continue;
      const found = getPath(object, ['metadata', 'labels']);
      const own = isObject(found)
        ? Object.fromEntries(Object.entries(found).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
        : {};
      // The API server sets this label on every namespace.
      labels.set(name, { ...own, 'kubernetes.io/metadata.name': name });
    }
  }
  return (namespace) => labels.get(namespace);
}
