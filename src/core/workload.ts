import { asObjectArray, asString, asStringMap, getPath, isObject, objectName, type JsonObject } from './types.js';

/** Where each kind keeps its pod spec. Kinds not listed here carry no pod spec and produce no findings. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const POD_BEARING_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/**
 * How a container runs:
 * - `container`: a regular container, long-running;
 * - `sidecar`: a native sidecar (init container with `restartPolicy: Always`), long-running;
 * - `init`: a run-to-completion init container.
 */
export type ContainerRole = 'container' | 'sidecar' | 'init';

export interface ContainerView {
  /** The container's name, or `#<index>` when it has none. */
  name: string;
  role: ContainerRole;
  /** The container object itself: a rule that mutates changes it in place. */
  spec: JsonObject;
}

export interface Workload {
  kind: string;
  name: string;
  namespace?: string;
  /** Annotations of the object and, for workload kinds, of its pod template. */
  annotations: Record<string, string>;
  /** The pod spec inside the object (the same reference, so mutations land in the object). */
  podSpec: JsonObject;
  containers: ContainerView[];
  /** Jobs, CronJobs and Pods that restart Never or OnFailure: they finish instead of serving. */
  runToCompletion: boolean;
  /** A Pod created by a controller (ownerReference with `controller: true`). */
  controlledBy?: { kind: string; name: string };
}

function containerViews(podSpec: JsonObject): ContainerView[] {
  const regular = asObjectArray(podSpec.containers).map((spec, index) => ({
    name: asString(spec.name) ?? `#${index}`,
    role: 'container' as const,
    spec,
  }));
  const init = asObjectArray(podSpec.initContainers).map((spec, index) => ({
    name: asString(spec.name) ?? `#init-${index}`,
    role: spec.restartPolicy === 'Always' ? ('sidecar' as const) : ('init' as const),
    spec,
  }));
  return [...init, ...regular];
}

function controllerOf(metadata: unknown): Workload['controlledBy'] {
  const owner = asObjectArray(getPath(metadata, ['ownerReferences'])).find((ref) => ref.controller === true);
  if (!owner) return undefined;
  return { kind: asString(owner.kind) ?? '', name: asString(owner.name) ?? '' };
}

/** The pod-bearing view of any object, or undefined when the object carries no pod spec. */
export function describeWorkload(object: unknown): Workload | undefined {
  if (!isObject(object)) return undefined;
  const kind = asString(object.kind);
  // Object.hasOwn: a kind such as `constructor` must not find Object.prototype's members.
  const specPath = kind !== undefined && Object.hasOwn(POD_SPEC_PATHS, kind) ? POD_SPEC_PATHS[kind] : undefined;
  if (kind === undefined || specPath === undefined) return undefined;
  const podSpec = getPath(object, specPath);
  if (!isObject(podSpec)) return undefined;

  const templateMetadata = kind === 'Pod' ? undefined : getPath(object, [...specPath.slice(0, -1), 'metadata']);
  const restartPolicy = asString(podSpec.restartPolicy);
  const namespace = asString(getPath(object, ['metadata', 'namespace']));
  return {
    kind,
    name: objectName(object),
    ...(namespace === undefined ? {} : { namespace }),
    annotations: {
      ...asStringMap(getPath(templateMetadata, ['annotations'])),
      ...asStringMap(getPath(object, ['metadata', 'annotations'])),
    },
    podSpec,
    containers: containerViews(podSpec),
    runToCompletion:
      kind === 'Job' || kind === 'CronJob' || (kind === 'Pod' && (restartPolicy === 'Never' || restartPolicy === 'OnFailure')),
    ...(kind === 'Pod' ? { controlledBy: controllerOf(object.metadata) } : {}),
  };
}

/** Regular containers and native sidecars: the ones that run as long as the Pod does. */
export function longRunningContainers(workload: Workload): ContainerView[] {
  return workload.containers.filter((container) => container.role !== 'init');
}
