import { z } from 'zod';
import { BUILT_IN_KINDS, type PodBearingKind } from '../core/workload.js';

/**
 * `workloadKinds`: kinds the policy adds to the built-in table, such as OpenKruise's CloneSet:
 * `{kind: CloneSet, group: apps.kruise.io, version: v1alpha1, resource: clonesets, podSpecPath: spec.template.spec}`.
 * The webhook sees them only when its registration lists their resource (docs/workload-kinds.md).
 */
export const workloadKindsSchema = z
  .array(
    z
      .object({
        kind: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'a kind such as CloneSet'),
        group: z.string().regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'an API group such as apps.kruise.io'),
        version: z.string().regex(/^v[0-9]+((alpha|beta)[0-9]+)?$/, 'a version such as v1 or v1alpha1'),
        resource: z.string().regex(/^[a-z][a-z0-9-]*$/, 'the plural resource name such as clonesets'),
        podSpecPath: z
          .string()
          .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a dotted path such as spec.template.spec')
          .transform((path) => path.split('.')),
        runToCompletion: z.boolean().default(false),
      })
      .strict(),
  )
  .default([])
  .superRefine((kinds, context) => {
    const seen = new Set(BUILT_IN_KINDS.map(({ kind, group }) => `${group}/${kind}`));
    kinds.forEach(({ kind, group }, index) => {
      const key = `${group}/${kind}`;
      if (seen.has(key)) context.addIssue({ code: 'custom', path: [index, 'kind'], message: `${kind} (${group}) is already known` });
      seen.add(key);
    });
  });

const tables = new WeakMap<object, readonly PodBearingKind[]>();

/** The built-in kinds and those the policy adds (an added kind's API may not be served: optional). */
export function podBearingKinds(policy: { workloadKinds: z.infer<typeof workloadKindsSchema> }): readonly PodBearingKind[] {
  const added = policy.workloadKinds;
  if (added.length === 0) return BUILT_IN_KINDS;
  let table = tables.get(added);
  if (table === undefined) {
    table = [...BUILT_IN_KINDS, ...added.map((kind) => ({ ...kind, optional: true }))];
    tables.set(added, table);
  }
  return table;
}
