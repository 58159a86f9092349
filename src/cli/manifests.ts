import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import jsyaml from 'js-yaml';
import { Composer, LineCounter, Parser, type Document } from 'yaml';
import { isDockerfileName } from '../core/dockerfile.js';
import { asString, asStringMap, getPath, isObject, objectName } from '../core/types.js';
import type { NamespaceLabels } from '../engine/exceptions.js';
import { readRegularFile, RefusedInputError } from './bounded-read.js';
import { InputError } from './input-error.js';

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

/** How check and fix read their inputs: stdin and files under the same size cap (regular files only). */
export interface Reading {
  readStdin: (maxBytes: number) => string;
  maxBytes: number;
}

/** The text of an input file (or stdin for `-`): regular files only, at most maxBytes. */
export function readInputText(path: string, { readStdin, maxBytes }: Reading): string {
  try {
    return path === '-' ? readStdin(maxBytes) : readRegularFile(path, maxBytes);
  } catch (error) {
    if (error instanceof RefusedInputError) throw new InputError(error.message, { file: path });
    throw new InputError(`${path}: cannot read: ${(error as Error).message}`, { file: path });
  }
}

/** An object of a manifest file and the line it starts on: what `check` needs of it. */
export interface ManifestEntry {
  object: unknown;
  line: number;
}

/**
 * Text the fast reader could read differently from `yaml`: directives (%YAML 1.1 changes the
 * schema), anchors, aliases and tags at the start of a node, binary integers, and `...` (a document
 * end, after which another document may follow without `---`).
 */
const NEEDS_EXACT_READER = /^%|^\.\.\.(?:\s|$)|(?:^|[\s:[{,-])[&*!]|(?:^|[\s:[{,-])[-+]?0b[01]/m;

/**
 * Where documents start: a `---` line. YAML forbids such a line inside any node (quoted and block
 * scalars included), so the text before it belongs to the previous documents whatever it holds.
 */
const DOCUMENT_START = /(?<=^|[\r\n])---(?=[ \t\r\n]|$)/g;

/** The parts of a text that start at a `---` line (the first part at the start of the text), with their first line's number. */
function* documentParts(text: string): Generator<{ part: string; firstLine: number }> {
  let start = 0;
  let firstLine = 1;
  const cut = (end: number) => {
    const part = text.slice(start, end);
    const result = { part, firstLine };
    for (let index = part.indexOf('\n'); index !== -1; index = part.indexOf('\n', index + 1)) firstLine += 1;
    start = end;
    return result;
  };
  for (const match of text.matchAll(DOCUMENT_START)) if (match.index > 0) yield cut(match.index);
  yield cut(text.length);
}

/** The objects of a parsed document: the document itself, or the items of a List (each on its own line). */
function objectsOf(document: Document.Parsed, value: unknown, lineOf: (node: unknown) => number): ManifestObject[] {
  if (isList(value)) {
    return (getPath(value, ['items']) as unknown[]).flatMap((item, index) =>
      isObject(item) ? [{ object: item, document, path: ['items', index], line: lineOf(document.getIn(['items', index], true)) }] : [],
    );
  }
  return value === null || value === undefined ? [] : [{ object: value, document, path: [], line: lineOf(document.contents) }];
}

/**
 * The documents of a YAML text read by `yaml`, one at a time: a document is composed when the
 * previous one has been consumed. Lines count from `firstLine`; the first invalid document throws
 * (with its file and line), after the documents before it.
 */
function* exactDocuments(
  path: string,
  text: string,
  firstLine = 1,
  hint = templateHint(text),
): Generator<{ document: Document.Parsed; objects: ManifestObject[] }> {
  const lineCounter = new LineCounter();
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: line + firstLine - 1, col };
  };
  const lineOf = (node: unknown) => position((getPath(node, ['range']) as number[] | undefined)?.[0] ?? 0).line;
  for (const document of new Composer().compose(new Parser(lineCounter.addNewLine).parse(text))) {
    const error = document.errors[0];
    if (error) {
      const at = error.pos[0] === -1 ? undefined : position(error.pos[0]);
      throw new InputError(`${path}${at ? `:${at.line}:${at.col}` : ''}: invalid YAML: ${error.message.split('\n')[0]}${hint}`, {
        file: path,
        ...(at ? { line: at.line } : {}),
      });
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      throw new InputError(`${path}: invalid YAML: ${(error as Error).message}`, { file: path }); // e.g. an alias bomb
    }
    yield { document, objects: objectsOf(document, value, lineOf) };
  }
}

/** Parses a manifest text: multi-document YAML, flow style, JSON, and lists of objects. */
export function parseManifests(path: string, text: string): ManifestFile {
  const file: ManifestFile = { path, text, documents: [], objects: [] };
  for (const { document, objects } of exactDocuments(path, text)) {
    file.documents.push(document);
    for (const object of objects) file.objects.push(object);
  }
  return file;
}

/** What `check` keeps of a document's objects. */
function* entries(documents: Iterable<{ objects: ManifestObject[] }>): Generator<ManifestEntry> {
  for (const { objects } of documents) for (const { object, line } of objects) yield { object, line };
}

/** The one document of a part with js-yaml's YAML 1.2 core schema, and the line it starts on; undefined for a List or what js-yaml refuses. */
function fastDocument(path: string, part: string, firstLine: number): { value: unknown; line: number } | undefined {
  let line: number | undefined;
  let depth = 0;
  let value: unknown;
  try {
    value = jsyaml.load(part, {
      filename: path,
      schema: jsyaml.CORE_SCHEMA,
      listener(event, state) {
        if (event === 'close') depth -= 1;
        else if (depth++ === 0) line ??= state.line + firstLine;
      },
    });
  } catch {
    return undefined;
  }
  if (isList(value) || (line === undefined && value !== null && value !== undefined)) return undefined;
  return { value, line: line ?? firstLine };
}

/**
 * The objects of a manifest text, as parseManifests reads them, one document at a time: each is
 * parsed, yielded and released before the next is parsed, so that memory follows the largest
 * document, not the file. `check` on a repository of manifests spends most of its time here, so
 * documents are read by js-yaml (about ten times faster) unless they hold what it could read
 * differently (see NEEDS_EXACT_READER), are Kubernetes lists (whose items need their own lines) or
 * are refused by it: those go through `yaml`, which also words the errors. Throws InputError at the
 * first invalid document.
 */
export function* manifestValues(path: string, text: string): Generator<ManifestEntry> {
  const hint = templateHint(text);
  // Directives apply to the document after them, across the `---` where the text is cut.
  if (/^%/m.test(text)) {
    yield* entries(exactDocuments(path, text, 1, hint));
    return;
  }
  for (const { part, firstLine } of documentParts(text)) {
    const fast = NEEDS_EXACT_READER.test(part) ? undefined : fastDocument(path, part, firstLine);
    if (fast === undefined) {
      yield* entries(exactDocuments(path, part, firstLine, hint));
    } else if (fast.value !== null && fast.value !== undefined) {
      yield { object: fast.value, line: fast.line };
    }
  }
}

/** Identity of an object for reports: kind, namespace and name, whatever the object holds. */
export function objectIdentity(object: unknown): { kind: string; namespace: string; name: string } {
  return {
    kind: asString(getPath(object, ['kind'])) ?? '',
    namespace: asString(getPath(object, ['metadata', 'namespace'])) ?? '',
    name: objectName(object),
  };
}

/** A Namespace object with a name: the only objects whose labels exceptions with a namespaceSelector read. */
export function isNamespaceObject(object: unknown): boolean {
  return isObject(object) && object.kind === 'Namespace' && typeof getPath(object, ['metadata', 'name']) === 'string';
}

/**
 * Labels of the Namespace objects among the inputs, for exceptions with a namespaceSelector: a
 * namespace without a Namespace object in the input has unknown labels, and such exceptions do not apply to it.
 */
export function namespaceLabelsIn(objects: Iterable<unknown>): NamespaceLabels {
  const labels = new Map<string, Record<string, string>>();
  for (const object of objects) {
    if (!isNamespaceObject(object)) continue;
    const name = getPath(object, ['metadata', 'name']) as string;
    // The API server sets this label on every namespace.
    labels.set(name, { ...asStringMap(getPath(object, ['metadata', 'labels'])), 'kubernetes.io/metadata.name': name });
  }
  return (namespace) => labels.get(namespace);
}
