import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { asString, getPath, isObject, objectName } from '../core/types.js';

/** Bad input (missing file, unparseable YAML): the CLI exits 2 with this message. */
export class InputError extends Error {
  override name = 'InputError';
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

/** Files named on the command line, with directories expanded (recursively, sorted; hidden folders skipped). */
export function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    if (path === '-') return [path];
    let stats;
    try {
      stats = statSync(path);
    } catch (error) {
      throw new InputError(
        `${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`,
      );
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
      return MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase()) ? [path] : [];
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
      throw new InputError(`${path}${where}: invalid YAML: ${error.message.split('\n')[0]}`);
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      throw new InputError(`${path}: invalid YAML: ${(error as Error).message}`); // e.g. an alias bomb
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

export function readManifests(path: string, readStdin: () => string): ManifestFile {
  let text: string;
  try {
    text = path === '-' ? readStdin() : readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`${path}: cannot read: ${(error as Error).message}`);
  }
  return parseManifests(path, text);
}

/** Identity of an object for reports: kind, namespace and name, whatever the object holds. */
export function objectIdentity(object: unknown): { kind: string; namespace: string; name: string } {
  return {
    kind: asString(getPath(object, ['kind'])) ?? '',
    namespace: asString(getPath(object, ['metadata', 'namespace'])) ?? '',
    name: objectName(object),
  };
}
