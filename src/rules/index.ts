import { distinctLivenessReadiness } from './distinct-liveness-readiness.js';
import { injectPrestopDelay } from './inject-prestop-delay.js';
import { noShellEntrypoint } from './no-shell-entrypoint.js';
import { requireReadinessProbe } from './require-readiness-probe.js';
import type { Rule } from './rule.js';
import { terminationMessageFallback } from './termination-message-fallback.js';

export type { MutatingRule, Rule, RuleContext, RuleMetadata, ValidatingRule } from './rule.js';
export { isMutatingRule } from './rule.js';

/** Every rule, validating ones first; the order of findings and of the policy's `rules` follows it. */
export const RULES: readonly Rule[] = [
  noShellEntrypoint,
  requireReadinessProbe,
  distinctLivenessReadiness,
  injectPrestopDelay,
  terminationMessageFallback,
];

export const RULE_IDS: readonly string[] = RULES.map((rule) => rule.meta.id);
