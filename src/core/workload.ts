import { asObjectArray, asString, asStringMap, getPath, isObject, objectName, type JsonObject } from './types.js';

/** A kind of object that carries a pod spec, and where. */
export interface PodBearingKind {
  kind: string;
  /** API group, '' for the core group. */
  group: string;
  /** The version the scan lists. */
  version: string;
  /** Resource name (plural), as webhook rules and RBAC name it. */
  resource: string;
  /** Where the pod spec lives inside the object. */
  podSpecPath: readonly string[];
  /** Its Pods run to completion (Jobs, CronJobs): they finish instead of serving. */
  runToCompletion?: boolean;
  /** Its API may not be served (a CRD): the scan skips it when the cluster does not know it. */
  optional?: boolean;
}

const TEMPLATE_SPEC = ['spec', 'template', 'spec'] as const;

/**
 * Every kind the rules apply to without configuration, owners before what they own (the scan skips
 * objects whose controller it checks already). The policy's `workloadKinds` adds more.
 */
export const BUILT_IN_KINDS: readonly PodBearingKind[] = [
  {
    kind: 'CronJob',
    group: 'batch',
    version: 'v1',
    resource: 'cronjobs',
    podSpecPath: ['spec', 'jobTemplate', ...TEMPLATE_SPEC],
    runToCompletion: true,
  },
  { kind: 'Deployment', group: 'apps', version: 'v1', resource: 'deployments', podSpecPath: TEMPLATE_SPEC },
  // Argo Rollouts: a Deployment replacement that owns ReplicaSets.
  { kind: 'Rollout', group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts', podSpecPath: TEMPLATE_SPEC, optional: true },
  // OpenShift: owns ReplicationControllers.
  {
    kind: 'DeploymentConfig',
    group: 'apps.openshift.io',
    version: 'v1',
    resource: 'deploymentconfigs',
    podSpecPath: TEMPLATE_SPEC,
    optional: true,
  },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', resource: 'statefulsets', podSpecPath: TEMPLATE_SPEC },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', resource: 'daemonsets', podSpecPath: TEMPLATE_SPEC },
  { kind: 'ReplicaSet', group: 'apps', version: 'v1', resource: 'replicasets', podSpecPath: TEMPLATE_SPEC },
  { kind: 'ReplicationController', group: '', version: 'v1', resource: 'replicationcontrollers', podSpecPath: TEMPLATE_SPEC },
  { kind: 'Job', group: 'batch', version: 'v1', resource: 'jobs', podSpecPath: TEMPLATE_SPEC, runToCompletion: true },
  { kind: 'Pod', group: '', version: 'v1', resource: 'pods', podSpecPath: ['spec'] },
];

export const POD_BEARING_KINDS: readonly string[] = BUILT_IN_KINDS.map(({ kind }) => kind);

/** `apps/v1` → `apps`, `v1` → '' (the core group). */
export function groupOf(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

export function apiVersionOf(kind: Pick<PodBearingKind, 'group' | 'version'>): string {
  return kind.group === '' ? kind.version : `${kind.group}/${kind.version}`;
}

/**
 * The table entry for an object: by kind, and by API group when the object names one that the table
 * has for this kind (a kind name can exist in two groups); an object without apiVersion matches by kind.
 */
export function findPodBearingKind(object: unknown, kinds: readonly PodBearingKind[] = BUILT_IN_KINDS): PodBearingKind | undefined {
  if (!isObject(object)) return undefined;
  const candidates = kinds.filter((entry) => entry.kind === object.kind);
  const apiVersion = asString(object.apiVersion);
  if (apiVersion === undefined || candidates.length <= 1) return candidates[0];
  return candidates.find((entry) => entry.group === groupOf(apiVersion)) ?? candidates[0];
}

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
  /** Labels of the object itself (what an exception's objectSelector matches). */
  labels: Record<string, string>;
  /** Annotations of the object and, for workload kinds, of its pod template. */
  annotations: Record<string, string>;
  /** The pod spec inside the object (the same reference, so mutations land in the object). */
  podSpec: JsonObject;
  /** Where the pod spec sits in the object (keys from the root), for JSON Patch paths. */
  podSpecPath: readonly string[];
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

/** The controller that owns an object (ownerReference with `controller: true`), if any. */
export function controllerOwner(object: unknown): { kind: string; name: string; apiVersion: string } | undefined {
  const owner = asObjectArray(getPath(object, ['metadata', 'ownerReferences'])).find((ref) => ref.controller === true);
  if (!owner) return undefined;
  return { kind: asString(owner.kind) ?? '', name: asString(owner.name) ?? '', apiVersion: asString(owner.apiVersion) ?? '' };
}

/** The pod-bearing view of any object, or undefined when the object carries no pod spec. */
export function describeWorkload(object: unknown, kinds: readonly PodBearingKind[] = BUILT_IN_KINDS): Workload | undefined {
  const entry = findPodBearingKind(object, kinds);
  if (entry === undefined || !isObject(object)) return undefined;
  const { kind, podSpecPath: specPath } = entry;
  const podSpec = getPath(object, specPath);
  if (!isObject(podSpec)) return undefined;

  const templateMetadata = specPath.length === 1 ? undefined : getPath(object, [...specPath.slice(0, -1), 'metadata']);
  const restartPolicy = asString(podSpec.restartPolicy);
  const namespace = asString(getPath(object, ['metadata', 'namespace']));
  const owner = kind === 'Pod' ? controllerOwner(object) : undefined;
  return {
    kind,
    name: objectName(object),
    ...(namespace === undefined ? {} : { namespace }),
    labels: asStringMap(getPath(object, ['metadata', 'labels'])),
    annotations: {
      ...asStringMap(getPath(templateMetadata, ['annotations'])),
      ...asStringMap(getPath(object, ['metadata', 'annotations'])),
    },
    podSpec,
    podSpecPath: specPath,
    containers: containerViews(podSpec),
    runToCompletion: entry.runToCompletion === true || (kind === 'Pod' && (restartPolicy === 'Never' || restartPolicy === 'OnFailure')),
    ...(kind === 'Pod' ? { controlledBy: owner && { kind: owner.kind, name: owner.name } } : {}),
  };
}

/**
 * The same workload over another pod spec (a copy for mutating rules to change). Rules reach the
 * object only through `podSpec` and `containers`, so a copy of the pod spec is all they need.
 */
export function withPodSpec(workload: Workload, podSpec: JsonObject): Workload {
  return { ...workload, podSpec, containers: containerViews(podSpec) };
}
