import { readFileSync } from 'node:fs';
import { PolicyError } from '../engine/policy-error.js';
import { DEFAULT_POLICY, type Policy } from '../engine/policy.js';
import { parsePolicy } from '../engine/policy-text.js';

/** The policy in a file, or the built-in default policy when no file is given. */
export function loadPolicyFile(path: string | undefined): Policy {
  if (path === undefined) return DEFAULT_POLICY;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError(`cannot read policy ${path}: ${(error as Error).message}`);
  }
  return parsePolicy(text, path);
}
