import { parseDocument } from 'yaml';
import { isObject } from '../core/types.js';
import { PolicyError } from './policy-error.js';
import { policyFromObject, type Policy } from './policy.js';

// Apart from policy.ts so that a webhook without a policy file never loads the YAML parser (~1.3 MB of RSS).

/** Parses a YAML (or JSON) policy text. A policy may set only some keys; the rest take their defaults. */
export function parsePolicy(text: string, source: string): Policy {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const line = error.linePos?.[0].line;
    throw new PolicyError(`invalid policy ${source}${line === undefined ? '' : ` line ${line}`}: ${error.message.split('\n')[0]}`);
  }
  const value: unknown = document.toJS();
  if (value !== null && value !== undefined && !isObject(value)) {
    throw new PolicyError(
      `invalid policy ${source}: expected a mapping of policy keys, got ${Array.isArray(value) ? 'a list' : typeof value}`,
    );
  }
  return policyFromObject(value, source);
}
