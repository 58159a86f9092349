import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { isNode, isSeq, visit, type Document } from 'yaml';
import { mutateObject } from '../engine/mutate.js';
import type { Policy } from '../engine/policy.js';
import type { ClusterInfo } from '../rules/index.js';
import type { ManifestFile } from './manifests.js';

export interface FixedFile {
  path: string;
  /** The manifest with the mutating rules applied; the input text when nothing changed. */
  text: string;
  changes: number;
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

/** The manifest file with the mutating rules (in enforce mode) applied to every pod-bearing object. */
export function fixManifests(file: ManifestFile, policy: Policy, cluster: ClusterInfo = {}): FixedFile {
  const json = isJson(file);
  let changes = 0;
  const patched = new Map<Document.Parsed, unknown>();
  for (const { object, path, document } of file.objects) {
    const mutation = mutateObject(object, policy, { cluster });
    if (mutation.errors.length > 0) {
      throw new Error(`${file.path}: rule ${mutation.errors[0]?.rule} failed: ${mutation.errors[0]?.message}`);
    }
    if (mutation.patch.length === 0) continue;
    changes += mutation.findings.length;
    if (!json && !hasAliases(document)) {
      for (const operation of mutation.patch) applyToDocument(document, path, operation);
    } else {
      // JSON, or YAML with aliases: patch a plain copy of the document (aliases expanded) and write it whole.
      const whole = patched.get(document) ?? JSON.parse(JSON.stringify(document.toJS({ maxAliasCount: 1000 })));
      const prefix = path.length === 0 ? '' : `/${path.join('/')}`;
      const operations = mutation.patch.map((operation) => ({ ...operation, path: `${prefix}${operation.path}` }));
      patched.set(document, fastJsonPatch.applyPatch(whole, operations, false, true).newDocument);
    }
  }
  if (changes === 0) return { path: file.path, text: file.text, changes };
  if (json) {
    const values = file.documents.map((document) => patched.get(document) ?? document.toJS());
    return { path: file.path, text: values.map((value) => `${JSON.stringify(value, null, 2)}\n`).join(''), changes };
  }
  for (const [document, value] of patched) document.contents = document.createNode(value) as typeof document.contents;
  const options = { lineWidth: 0, flowCollectionPadding: false, indentSeq: indentsSequences(file.text) };
  return { path: file.path, text: file.documents.map((document) => document.toString(options)).join(''), changes };
}
