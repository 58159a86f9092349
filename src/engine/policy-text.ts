import jsyaml from 'js-yaml';
import { isObject } from '../core/types.js';
import { PolicyError } from './policy-error.js';
import { policyFromObject, type Policy } from './policy.js';

// Apart from policy.ts so that a webhook without a policy never loads a YAML parser. js-yaml, which `check` reads
// manifests with, and not `yaml`'s document model: the policy needs no positions beyond an error's line, and
// a replica that reads its policy keeps 1.5 MB less (docs/performance.md).

/** Parses a YAML (or JSON) policy text. A policy may set only some keys; the rest take their defaults. */
export function parsePolicy(text: string, source: string): Policy {
  let value: unknown;
  try {
    // YAML 1.2's core schema: `yes` and `on` stay strings; a key given twice is an error.
    value = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  } catch (error) {
    if (!(error instanceof jsyaml.YAMLException)) throw error;
    const line = error.mark?.line;
    throw new PolicyError(`invalid policy ${source}${line === undefined ? '' : ` line ${line + 1}`}: ${error.reason}`);
  }
  if (value !== null && value !== undefined && !isObject(value)) {
    throw new PolicyError(
      `invalid policy ${source}: expected a mapping of policy keys, got ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  return policyFromObject(value, source);
}
