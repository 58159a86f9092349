// Objects of every pod-bearing kind, built from the one table in src/core/workload.ts.
import type { JsonObject } from '../../src/core/types.js';
import { getPath, isObject } from '../../src/core/types.js';
import { apiVersionOf, BUILT_IN_KINDS, POD_BEARING_KINDS, type PodBearingKind } from '../../src/core/workload.js';

export const WORKLOAD_KINDS: readonly string[] = POD_BEARING_KINDS;
/** Kinds whose pod spec is a template (every kind but Pod). */
export const TEMPLATE_KINDS: readonly string[] = POD_BEARING_KINDS.filter((kind) => kind !== 'Pod');
export const LONG_RUNNING_KINDS: readonly string[] = BUILT_IN_KINDS.filter((entry) => entry.runToCompletion !== true).map(
  ({ kind }) => kind,
);

/** The table entry of a built-in kind; unknown kinds get a Deployment-like shape in example.com. */
export function kindEntry(kind: string): PodBearingKind {
  return (
    BUILT_IN_KINDS.find((entry) => entry.kind === kind) ?? {
      kind,
      group: 'example.com',
      version: 'v1',
      resource: `${kind.toLowerCase()}s`,
      podSpecPath: ['spec', 'template', 'spec'],
    }
  );
}

/**
 * Wraps a pod spec in an object of the given kind, at that kind's path; a template gets `labels` and
 * `templateMetadata`, a Deployment-like spec a selector, a CronJob a schedule.
 */
export function wrap(
  kind: string,
  podSpec: unknown,
  metadata: JsonObject = { name: 'demo', namespace: 'default' },
  templateMetadata: JsonObject = {},
): JsonObject {
  const entry = kindEntry(kind);
  const object: JsonObject = { apiVersion: apiVersionOf(entry), kind, metadata };
  let parent = object;
  const path = entry.podSpecPath;
  path.slice(0, -1).forEach((key, index) => {
    const child: JsonObject = {};
    if (key === 'template' && index === path.length - 2) child.metadata = { labels: { app: 'demo' }, ...templateMetadata };
    parent[key] = child;
    parent = child;
  });
  parent[path[path.length - 1] ?? 'spec'] = podSpec;
  const spec = object.spec as JsonObject;
  if (kind === 'CronJob') spec.schedule = '* * * * *';
  else if (isObject(spec.template)) spec.selector = { matchLabels: { app: 'demo' } };
  return object;
}

/** The pod spec inside an object of a built-in kind. */
export function podSpecOf(object: unknown): JsonObject {
  return getPath(object, kindEntry(String((object as JsonObject).kind)).podSpecPath) as JsonObject;
}
