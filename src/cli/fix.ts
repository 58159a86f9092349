import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { isMap, isNode, isScalar, isSeq, stringify, visit, type Document } from 'yaml';
import { mutateObject } from '../engine/mutate.js';
import type { Policy } from '../engine/policy.js';
import type { ClusterInfo } from '../core/types.js';
import type { NamespaceLabels } from '../engine/exceptions.js';
import { expandedSizeExceeds } from '../core/depth.js';
import { DEFAULT_MAX_FILE_BYTES } from './bounded-read.js';
import type { LocatedRuleError } from './check.js';
import { InputError } from './input-error.js';
import type { ManifestFile } from './manifests.js';

export interface FixedFile {
  path: string;
  /** The manifest with the mutating rules applied; the input text when nothing changed or a rule failed. */
  text: string;
  changes: number;
  /** Rules that failed: then nothing of the file is changed (half a fix is worse than none). */
  errors: LocatedRuleError[];
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Applies one JSON Patch operation to a YAML document, so comments and key order stay as they were. */
function applyToDocument(document: Document.Parsed, prefix: readonly (string | number)[], operation: Operation): void {
  const path = [...prefix, ...pointerSegments(operation.path)];
  if (operation.op === 'remove') {
    document.deleteIn(path);
    return;
  }
  if (operation.op !== 'add' && operation.op !== 'replace') throw new Error(`unexpected patch operation ${operation.op}`);
  const node = document.createNode(operation.value);
  const parent = document.getIn(path.slice(0, -1), true);
  const last = String(path[path.length - 1]);
  if (operation.op === 'add' && isSeq(parent)) {
    parent.items.splice(last === '-' ? parent.items.length : Number(last), 0, node);
  } else {
    // A replaced value keeps the comments written around it (`terminationGracePeriodSeconds: 10 # why`).
    const previous = document.getIn(path, true);
    if (isNode(previous)) {
      node.comment = previous.comment;
      node.commentBefore = previous.commentBefore;
      node.spaceBefore = previous.spaceBefore;
    }
    document.setIn(path, node);
  }
}

/** Sequences written flush with their parent key (`containers:\n- name`) are kept that way. */
function indentsSequences(text: string): boolean {
  return !/^( *)[^\s#-][^\n]*:[ \t]*\r?\n\1- /m.test(text);
}

/** YAML aliases (`*name`) share their anchor's node: edits through one would land on every use. */
function hasAliases(document: Document.Parsed): boolean {
  let found = false;
  visit(document, {
    Alias: () => {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/** A .json file, or input that is JSON (flow-style YAML, which may hold comments, is not). */
function isJson(file: ManifestFile): boolean {
  if (file.path.toLowerCase().endsWith('.json')) return true;
  if (!/^\s*[{[]/.test(file.text)) return false;
  try {
    JSON.parse(file.text);
    return true;
  } catch {
    return false;
  }
}

/** A text edit at an offset of the original file: insert `text`, replacing `length` characters. */
interface TextEdit {
  offset: number;
  length: number;
  text: string;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/**
 * The operation as an edit of the source text, so that everything else stays byte for byte as it
 * was: a new key goes below the last line of its block mapping, at that mapping's indentation; a
 * replaced scalar is rewritten in place. Undefined when the target is not that simple (flow style).
 */
function textEditFor(
  text: string,
  document: Document.Parsed,
  path: readonly (string | number)[],
  operation: Operation,
  indentSeq: boolean,
): TextEdit | undefined {
  const target = document.getIn(path, true);
  if (operation.op === 'replace') {
    if (!isScalar(target) || target.range === undefined || target.range === null || typeof operation.value === 'object') return undefined;
    return { offset: target.range[0], length: target.range[1] - target.range[0], text: String(document.createNode(operation.value)) };
  }
  const parent = document.getIn(path.slice(0, -1), true);
  const first = isMap(parent) ? parent.items[0] : undefined;
  if (
    operation.op !== 'add' ||
    !isMap(parent) ||
    parent.flow ||
    !parent.range ||
    !isNode(first?.key) ||
    !first.key.range ||
    target !== undefined
  )
    return undefined;
  // The first key starts its line, after indentation and perhaps the `- ` of a sequence item.
  const before = text.slice(lineStart(text, first.key.range[0]), first.key.range[0]);
  if (!/^[ -]*$/.test(before)) return undefined;
  const indent = before.length;
  const end = parent.range[1];
  const offset = text[end - 1] === '\n' ? end : text.indexOf('\n', end) === -1 ? text.length : text.indexOf('\n', end) + 1;
  const key = String(path[path.length - 1]);
  const block = stringify({ [key]: operation.value as unknown }, { indentSeq, lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((line) => `${' '.repeat(indent)}${line}`)
    .join('\n');
  return { offset, length: 0, text: `${block}\n` };
}

function applyEdits(text: string, edits: readonly TextEdit[]): string {
  // From the end, so earlier offsets stay valid; edits at the same offset keep their order.
  const ordered = edits.map((edit, index) => ({ edit, index })).sort((a, b) => b.edit.offset - a.edit.offset || b.index - a.index);
  return ordered.reduce((result, { edit }) => result.slice(0, edit.offset) + edit.text + result.slice(edit.offset + edit.length), text);
}

/** The manifest file with the mutating rules (in enforce mode) applied to every pod-bearing object. */
export function fixManifests(
  file: ManifestFile,
  policy: Policy,
  cluster: ClusterInfo = {},
  namespaceLabels?: NamespaceLabels,
  maxOutputBytes = DEFAULT_MAX_FILE_BYTES,
): FixedFile {
  const json = isJson(file);
  const indentSeq = indentsSequences(file.text);
  // Keys added at the very end of a file that lacks its final newline go on lines of their own.
  const source = file.text === '' || file.text.endsWith('\n') ? file.text : `${file.text}\n`;
  let changes = 0;
  const patched = new Map<Document.Parsed, unknown>();
  // Text edits keep the file as it was around the changes; any change they cannot express turns them off.
  let edits: TextEdit[] | undefined = [];
  const errors: LocatedRuleError[] = [];
  for (const { object, path, document, line } of file.objects) {
    const mutation = mutateObject(object, policy, { cluster, ...(namespaceLabels === undefined ? {} : { namespaceLabels }) });
    errors.push(...mutation.errors.map((error) => ({ file: file.path, line, ...error })));
    if (errors.length > 0) continue;
    if (mutation.patch.length === 0) continue;
    changes += mutation.findings.length;
    if (!json && !hasAliases(document)) {
      for (const operation of mutation.patch) {
        const edit: TextEdit | undefined =
          edits && textEditFor(source, document, [...path, ...pointerSegments(operation.path)], operation, indentSeq);
        edits = edit === undefined ? undefined : [...(edits ?? []), edit];
        applyToDocument(document, path, operation);
      }
    } else {
      edits = undefined;
      // JSON, or YAML with aliases: patch a plain copy of the document (aliases expanded) and write it whole,
      // unless the expansion is what an alias bomb is made for (check reads the same file without expanding).
      const value: unknown = patched.get(document) ?? document.toJS({ maxAliasCount: 1000 });
      if (!patched.has(document) && hasAliases(document) && expandedSizeExceeds(value, maxOutputBytes)) {
        throw new InputError(
          `${file.path}: its YAML aliases expand to more than ${maxOutputBytes} bytes (--max-file-size); fix writes them expanded`,
        );
      }
      const whole = patched.get(document) ?? (JSON.parse(JSON.stringify(value)) as unknown);
      const prefix = path.length === 0 ? '' : `/${path.join('/')}`;
      const operations = mutation.patch.map((operation) => ({ ...operation, path: `${prefix}${operation.path}` }));
      patched.set(document, fastJsonPatch.applyPatch(whole, operations, false, true).newDocument);
    }
  }
  if (errors.length > 0) return { path: file.path, text: file.text, changes: 0, errors };
  if (changes === 0) return { path: file.path, text: file.text, changes, errors };
  if (json) {
    const values = file.documents.map((document): unknown => patched.get(document) ?? document.toJS());
    return { path: file.path, text: values.map((value) => `${JSON.stringify(value, null, 2)}\n`).join(''), changes, errors };
  }
  if (edits !== undefined) return { path: file.path, text: applyEdits(source, edits), changes, errors };
  for (const [document, value] of patched) document.contents = document.createNode(value) as typeof document.contents;
  const options = { lineWidth: 0, flowCollectionPadding: false, indentSeq };
  return { path: file.path, text: file.documents.map((document) => document.toString(options)).join(''), changes, errors };
}
