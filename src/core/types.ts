/** A JSON object as it arrives from YAML or an AdmissionReview: nothing about its shape is trusted. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a nested field without trusting any level of the path. */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** metadata.name, else generateName (an object the API server will name); '' when neither is set. */
export function objectName(object: unknown): string {
  return asString(getPath(object, ['metadata', 'name'])) || asString(getPath(object, ['metadata', 'generateName'])) || '';
}

export function asObjectArray(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Sets `key` as an own property: JSON.parse makes "__proto__" an own key, and assigning it would set the prototype instead. */
export function setOwnKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The string-valued entries of an object (labels, annotations); a loop, as it runs several times per admission request. */
export function asStringMap(value: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  if (!isObject(value)) return map;
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (typeof entry === 'string') setOwnKey(map, key, entry);
  }
  return map;
}

/** What a rule does: validating rules can deny, mutating rules change the object. */
export type RuleType = 'validating' | 'mutating';

/** How a rule is applied: `enforce` denies or mutates, `audit` only reports, `off` is silent. */
export type Mode = 'enforce' | 'audit' | 'off';
export const MODES: readonly Mode[] = ['enforce', 'audit', 'off'];

/** One thing a rule found (or, for a mutating rule, one change it makes). */
export interface RuleFinding {
  /** Container name; absent when the finding concerns the pod as a whole. */
  container?: string;
  message: string;
  /** How to fix this finding, when the rule knows better than its general fix. */
  fix?: string;
}

/** A finding with everything a report or an admission response needs. */
export interface Finding extends RuleFinding {
  rule: string;
  type: RuleType;
  mode: Exclude<Mode, 'off'>;
  /** How to fix it: the finding's own fix, else the rule's general one. */
  fix: string;
  /** URL of the rule's reference page (the policy's docsBaseURL). */
  docs?: string;
  /** Set on UPDATE when the previous version of the object already had this finding. */
  preexisting?: boolean;
}

/** What is known about the cluster objects are checked for (rules read it); empty when checking files. */
export interface ClusterInfo {
  /** Kubernetes server version, when known. */
  version?: { major: number; minor: number };
}
