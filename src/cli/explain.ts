import { readFileSync } from 'node:fs';
import { RULE_IDS } from '../rules/index.js';
import { InputError } from './input-error.js';

/** docs/rules/ of the package: beside dist/ when installed, beside src/ in the repository. */
const RULE_DOCS = new URL('../../docs/rules/', import.meta.url);

/** `lifecycle-guard explain <rule-id>`: the rule's reference page (generated Markdown), as published. */
export function explainRule(ruleId: string): string {
  if (!RULE_IDS.includes(ruleId)) throw new InputError(`unknown rule "${ruleId}" (rules: ${RULE_IDS.join(', ')})`);
  try {
    return readFileSync(new URL(`${ruleId}.md`, RULE_DOCS), 'utf8');
  } catch (error) {
    throw new InputError(`the reference page of ${ruleId} is missing from this installation: ${(error as Error).message}`);
  }
}
