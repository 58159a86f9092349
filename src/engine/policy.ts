import { z } from 'zod';
import { durationSchema } from '../core/duration.js';
import { MODES, type Mode } from '../core/types.js';
import { RULES, type Rule } from '../rules/index.js';
import { exceptionsSchema } from './exceptions.js';
import { PolicyError } from './policy-error.js';
import { workloadKindsSchema } from './workload-kinds.js';

export const SKIP_ANNOTATION = 'lifecycle-guard.io/skip';

export const DEFAULT_EXCLUDED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'lifecycle-guard'];

/**
 * Where the rule reference pages (docs/rules/<id>.md) are published; denials, warnings and reports link
 * there. The project has no published site, so the default is the repository's docs/rules folder.
 */
export const DEFAULT_DOCS_BASE_URL = 'https://github.com/lifecycle-guard/lifecycle-guard/blob/main/docs/rules';

/** The reference page of a rule: `{rule}` in the base URL is replaced, else `/<id>.md` is appended. */
export function ruleDocsURL(policy: { docsBaseURL: string }, ruleId: string): string {
  const base = policy.docsBaseURL;
  return base.includes('{rule}') ? base.replaceAll('{rule}', ruleId) : `${base.replace(/\/+$/, '')}/${ruleId}.md`;
}

const modeSchema = z.enum(MODES as [Mode, ...Mode[]]);

/** `rules.<id>`: the rule's parameters and its mode. An empty entry (`no-shell-entrypoint:`) takes the defaults. */
function ruleSchema(rule: Rule) {
  const entry = rule.params.extend({ mode: modeSchema.optional() }).strict().prefault({});
  return z.preprocess((value) => (value === null ? undefined : value), entry);
}

/** The policy schema, composed from every rule's parameter schema. */
export const policySchema = z
  .object({
    mode: modeSchema.default('enforce'),
    failureMode: z.enum(['allow', 'deny']).default('allow'),
    mutateTemplates: z.boolean().default(false),
    allowSkipAnnotation: z.boolean().default(true),
    exclude: z
      .object({ namespaces: z.array(z.string().min(1)).default([...DEFAULT_EXCLUDED_NAMESPACES]) })
      .strict()
      .prefault({}),
    scan: z
      .object({
        interval: durationSchema('10m', 'a duration such as 30s, 10m or 1h (0 turns the background scan off)'),
        reportFormat: z.enum(['PolicyReport', 'OpenReports', 'none']).default('PolicyReport'),
        pageSize: z.number().int().min(10).max(5000).default(500),
      })
      .strict()
      .prefault({}),
    docsBaseURL: z.url({ protocol: /^https?$/ }).default(DEFAULT_DOCS_BASE_URL),
    workloadKinds: workloadKindsSchema,
    exceptions: exceptionsSchema,
    rules: z
      .object(Object.fromEntries(RULES.map((rule) => [rule.meta.id, ruleSchema(rule)])))
      .strict()
      .prefault({}),
  })
  .strict();

export type Policy = z.infer<typeof policySchema> & {
  rules: Record<string, Record<string, unknown> & { mode?: Mode }>;
};

const STRENGTH: Record<Mode, number> = { off: 0, audit: 1, enforce: 2 };

/** A rule's own `mode` wins; otherwise the global mode applies, but never stronger than the rule's default. */
export function effectiveMode(policy: Policy, rule: Rule): Mode {
  const explicit = policy.rules[rule.meta.id]?.mode;
  if (explicit !== undefined) return explicit;
  return STRENGTH[policy.mode] <= STRENGTH[rule.meta.defaultMode] ? policy.mode : rule.meta.defaultMode;
}

/** The keys a strict object schema allows at a path, for naming them in an error. */
/** The object schema inside defaults, optionals and preprocessing. */
function unwrap(schema: z.ZodType): z.ZodType {
  let inner = schema;
  for (;;) {
    if (inner instanceof z.ZodDefault || inner instanceof z.ZodPrefault || inner instanceof z.ZodOptional)
      inner = inner.unwrap() as z.ZodType;
    else if (inner instanceof z.ZodPipe) inner = inner.out as z.ZodType;
    else return inner;
  }
}

function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let schema = unwrap(policySchema);
  for (const key of path) {
    if (!(schema instanceof z.ZodObject)) return [];
    const next = (schema.shape as Record<string, z.ZodType | undefined>)[String(key)];
    if (next === undefined) return [];
    schema = unwrap(next);
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '(top level)' : issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeysAt(issue.path);
    return issue.keys
      .map((key) => `${where === '(top level)' ? key : `${where}.${key}`}: unknown key (allowed: ${allowed.join(', ')})`)
      .join('; ');
  }
  return `${where}: ${issue.message}`;
}

/** Validates a parsed policy document; every error names its key and what is allowed. */
export function policyFromObject(value: unknown, source: string): Policy {
  const result = policySchema.safeParse(value ?? {});
  if (!result.success) {
    throw new PolicyError(`invalid policy ${source}: ${result.error.issues.map(describeIssue).join('; ')}`);
  }
  return result.data;
}

export const DEFAULT_POLICY: Policy = policyFromObject({}, 'defaults');

/** The policy with one more namespace excluded (the webhook's own: it must never block itself). */
export function withExcludedNamespace(policy: Policy, namespace: string): Policy {
  if (policy.exclude.namespaces.includes(namespace)) return policy;
  return { ...policy, exclude: { ...policy.exclude, namespaces: [...policy.exclude.namespaces, namespace] } };
}
