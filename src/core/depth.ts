/**
 * Nesting limits. Kubernetes objects are shallow: the deepest field of a built-in workload (a CronJob's
 * pod affinity `values`, or its mirror in `managedFields`) sits about 20 levels below an AdmissionReview.
 * Anything deeper than this limit is an attack or a mistake, and copying or diffing it recursively
 * would overflow the stack (from a depth of a few thousand).
 */
export const MAX_NESTING_DEPTH = 128;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/** The index of the quote that closes the string whose content starts at `from`, or -1. */
function closingQuote(json: Uint8Array, from: number): number {
  for (let quote = json.indexOf(QUOTE, from); quote !== -1; quote = json.indexOf(QUOTE, quote + 1)) {
    let backslashes = 0;
    while (json[quote - 1 - backslashes] === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}

/**
 * True when JSON text nests objects and arrays deeper than `limit`: one pass over the bytes, before
 * parsing. Strings (most of a Kubernetes object's bytes) are skipped with indexOf, not byte by byte.
 */
export function jsonNestingExceeds(json: Uint8Array, limit = MAX_NESTING_DEPTH): boolean {
  let depth = 0;
  for (let index = 0; index < json.length; index += 1) {
    const byte = json[index];
    if (byte === QUOTE) {
      index = closingQuote(json, index + 1);
      if (index === -1) return false;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      if (depth > limit) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return false;
}

/**
 * Body size from which nesting is checked on the bytes before parsing: JSON.parse handles any depth
 * (it does not recurse) but allocates an array per `[`, so megabytes of them would cost hundreds of
 * MB. Below it, walking the parsed tree is about three times cheaper than scanning the bytes.
 */
export const BYTE_SCAN_BYTES = 64 * 1024;

/**
 * True when a tree from JSON.parse (no shared references, no cycles) nests objects and arrays deeper
 * than `limit`. Recursive, but never deeper than `limit`, so any input is safe to ask about.
 */
export function parsedJsonNestingExceeds(value: unknown, limit = MAX_NESTING_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return nestingExceeds(value, limit);
}

/** The walk itself; leaves (most of a review) are not visited with a call, which halves its cost. */
function nestingExceeds(node: object, limit: number): boolean {
  if (limit === 0) return true;
  if (Array.isArray(node)) {
    for (const item of node as unknown[]) if (typeof item === 'object' && item !== null && nestingExceeds(item, limit - 1)) return true;
    return false;
  }
  for (const key in node) {
    const child = (node as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && nestingExceeds(child, limit - 1)) return true;
  }
  return false;
}

/**
 * True when a value, written out with every shared reference repeated (YAML aliases expanded),
 * would take more than about `limit` bytes. Stops as soon as it knows, so the work is bounded by the
 * limit, not by the (possibly exponential) expansion.
 */
export function expandedSizeExceeds(value: unknown, limit: number): boolean {
  let size = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') size += next.length + 2;
    else if (typeof next === 'object' && next !== null) {
      for (const [key, child] of Object.entries(next)) {
        size += key.length + 4;
        pending.push(child);
      }
    } else size += 8;
    if (size > limit) return true;
  }
  return false;
}
