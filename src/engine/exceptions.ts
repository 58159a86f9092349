import { z } from 'zod';
import { matchesPattern, matchesSelector } from '../core/labels.js';
import type { Workload } from '../core/workload.js';
import { RULE_IDS } from '../rules/index.js';

const labelSelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string().min(1),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).optional(),
          })
          .strict()
          .refine(({ operator, values = [] }) => (operator === 'In' || operator === 'NotIn' ? values.length > 0 : values.length === 0), {
            message: 'In and NotIn need values; Exists and DoesNotExist take none',
          }),
      )
      .optional(),
  })
  .strict();

/** A date (`2026-12-31`: the exception holds through that day, UTC) or an RFC 3339 time. */
const expiresSchema = z.union([z.string(), z.date()]).transform((value, context) => {
  const text = value instanceof Date ? value.toISOString().slice(0, 10) : value;
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const time = dateOnly ? Date.parse(`${text}T00:00:00Z`) + 86_400_000 : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time)) {
    context.addIssue({ code: 'custom', message: 'a date such as 2026-12-31 or a time such as 2026-12-31T18:00:00Z' });
    return z.NEVER;
  }
  return { text, endsAt: time };
});

const exceptionSchema = z
  .object({
    /** Rule ids the exception lifts, or `all`. */
    rules: z.array(z.enum(['all', ...RULE_IDS] as [string, ...string[]])).min(1),
    namespaceSelector: labelSelectorSchema.optional(),
    objectSelector: labelSelectorSchema.optional(),
    /** Named workloads; `*` and `?` are wildcards in each field. */
    workloads: z
      .array(
        z.object({ namespace: z.string().min(1).default('*'), kind: z.string().min(1).default('*'), name: z.string().min(1) }).strict(),
      )
      .min(1)
      .optional(),
    reason: z.string().optional(),
    expires: expiresSchema.optional(),
  })
  .strict()
  .refine((entry) => entry.namespaceSelector !== undefined || entry.objectSelector !== undefined || entry.workloads !== undefined, {
    message: 'an exception needs namespaceSelector, objectSelector or workloads (to turn a rule off everywhere, set its mode to off)',
  });

export const exceptionsSchema = z.array(exceptionSchema).default([]);

export type PolicyException = z.infer<typeof exceptionSchema>;

/** Labels of a namespace, or undefined when they are not known (no Namespace object, lookup failed). */
export type NamespaceLabels = (namespace: string) => Readonly<Record<string, string>> | undefined;

/** Where a server reads namespace labels: one namespace's, or every known one's (for a decision made in a worker thread). */
export interface NamespaceLabelSource {
  labels: NamespaceLabels;
  all(): Record<string, Record<string, string>>;
}

export interface ExceptionContext {
  namespaceLabels?: NamespaceLabels;
  /** The current time in milliseconds (tests fix it). */
  now?: number;
}

/** Whether any exception matches namespace labels: only then must they be looked up. */
export function readsNamespaceLabels(exceptions: readonly PolicyException[]): boolean {
  return exceptions.some((exception) => exception.namespaceSelector !== undefined);
}

export function isExpired(exception: PolicyException, now: number = Date.now()): boolean {
  return exception.expires !== undefined && now >= exception.expires.endsAt;
}

/**
 * True when the exception covers the workload: every matcher it sets matches. A namespaceSelector
 * needs the namespace's labels; when they are unknown the exception does not apply (the rules do).
 */
function covers(exception: PolicyException, workload: Workload, namespace: string | undefined, context: ExceptionContext): boolean {
  if (exception.namespaceSelector !== undefined) {
    const labels = namespace === undefined ? undefined : context.namespaceLabels?.(namespace);
    if (labels === undefined || !matchesSelector(exception.namespaceSelector, labels)) return false;
  }
  if (exception.objectSelector !== undefined && !matchesSelector(exception.objectSelector, workload.labels)) return false;
  if (exception.workloads !== undefined) {
    const named = exception.workloads.some(
      (entry) =>
        matchesPattern(entry.namespace, namespace ?? '') &&
        matchesPattern(entry.kind, workload.kind) &&
        matchesPattern(entry.name, workload.name),
    );
    if (!named) return false;
  }
  return true;
}

/** The first unexpired exception that lifts `ruleId` for the workload, with its position in the policy. */
export function findException(
  exceptions: readonly PolicyException[],
  ruleId: string,
  workload: Workload,
  namespace: string | undefined,
  context: ExceptionContext,
): { index: number; exception: PolicyException } | undefined {
  const now = context.now ?? Date.now();
  for (const [index, exception] of exceptions.entries()) {
    if (!exception.rules.includes('all') && !exception.rules.includes(ruleId)) continue;
    if (isExpired(exception, now)) continue;
    if (covers(exception, workload, namespace, context)) return { index, exception };
  }
  return undefined;
}

/** How an exception stands, as reports show it. */
export interface ExceptionStatus {
  index: number;
  rules: string[];
  reason?: string;
  expires?: string;
  expired: boolean;
}

export function exceptionStatuses(exceptions: readonly PolicyException[], now: number = Date.now()): ExceptionStatus[] {
  return exceptions.map((exception, index) => ({
    index,
    rules: exception.rules,
    ...(exception.reason === undefined ? {} : { reason: exception.reason }),
    ...(exception.expires === undefined ? {} : { expires: exception.expires.text }),
    expired: isExpired(exception, now),
  }));
}
