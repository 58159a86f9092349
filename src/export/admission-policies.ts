import type { JsonObject, Mode } from '../core/types.js';
import { BUILT_IN_KINDS, type ContainerRole } from '../core/workload.js';
import { DEFAULT_GRACE_PERIOD_SECONDS } from '../rules/inject-prestop-delay.js';
import type { ClusterInfo } from '../core/types.js';
import { RULES, type Rule } from '../rules/index.js';
import { effectiveMode, SKIP_ANNOTATION, type Policy } from '../engine/policy.js';
import type { ShellJudge } from '../core/shell.js';
import { celString, shellCompliantExpression, shellDifferences } from './shell-cel.js';

/** The policy asks for something the target cluster cannot run. */
export class ExportError extends Error {
  override name = 'ExportError';
}

export interface KubeVersion {
  major: number;
  minor: number;
}

/** The cluster the policies are written for when none is named: MutatingAdmissionPolicy is GA there. */
export const DEFAULT_EXPORT_VERSION: KubeVersion = { major: 1, minor: 36 };

export interface AdmissionPolicyExport {
  /** Policies and their bindings, in the order they should be applied. */
  objects: JsonObject[];
  /** Where the exported policies do not behave as the webhook does (for this policy). */
  differences: string[];
}

// Where each pod-bearing kind keeps its pod template. A local table until core/workload.ts lists API
// groups and resources itself (issue #13); the kinds must stay those of POD_BEARING_KINDS.
interface KindPath {
  group: string;
  resource: string;
  /** CEL path of the pod template's parent object, below `object`; '' for Pods (no template). */
  template: string;
}
const KINDS: Readonly<Record<string, KindPath>> = {
  Pod: { group: '', resource: 'pods', template: '' },
  Deployment: { group: 'apps', resource: 'deployments', template: '.spec.template' },
  StatefulSet: { group: 'apps', resource: 'statefulsets', template: '.spec.template' },
  DaemonSet: { group: 'apps', resource: 'daemonsets', template: '.spec.template' },
  ReplicaSet: { group: 'apps', resource: 'replicasets', template: '.spec.template' },
  ReplicationController: { group: '', resource: 'replicationcontrollers', template: '.spec.template' },
  Job: { group: 'batch', resource: 'jobs', template: '.spec.template' },
  CronJob: { group: 'batch', resource: 'cronjobs', template: '.spec.jobTemplate.spec.template' },
};

/** Kinds that run to completion: rules scoped to long-running workloads leave them alone. */
const RUN_TO_COMPLETION_KINDS = BUILT_IN_KINDS.filter((entry) => entry.runToCompletion === true).map((entry) => entry.kind);

const LABELS = { 'app.kubernetes.io/managed-by': 'lifecycle-guard' };

function resourceRules(kinds: readonly string[], operations: readonly string[]): JsonObject[] {
  const groups = new Map<string, string[]>();
  for (const kind of kinds) {
    const { group, resource } = KINDS[kind] as KindPath;
    groups.set(group, [...(groups.get(group) ?? []), resource]);
  }
  return [...groups].map(([group, resources]) => ({ apiGroups: [group], apiVersions: ['*'], operations: [...operations], resources }));
}

/** CEL: `expression` for the kind of the request; kinds that give the same text share one branch. */
function perKind(kinds: readonly string[], expression: (kind: KindPath) => string): string {
  const branches = new Map<string, string[]>();
  for (const kind of kinds) {
    const text = expression(KINDS[kind] as KindPath);
    branches.set(text, [...(branches.get(text) ?? []), kind]);
  }
  const [last, ...rest] = [...branches].reverse();
  return rest.reduce(
    (otherwise, [text, group]) => `(request.kind.kind in ${JSON.stringify(group)} ? ${text} : ${otherwise})`,
    (last as [string, string[]])[0],
  );
}

/** CEL: the pod spec inside `root` (object or oldObject). */
function podSpecOf(root: string, kinds: readonly string[]): string {
  return perKind(kinds, (kind) => `${root}${kind.template === '' ? '' : kind.template}.spec`);
}

/** CEL: the annotation `key` of a metadata object, or `fallback`. */
function annotation(metadata: string, key: string, fallback = '""'): string {
  return `(has(${metadata}.annotations) && ${celString(key)} in ${metadata}.annotations ? ${metadata}.annotations[${celString(key)}] : ${fallback})`;
}

/**
 * CEL: true when `root` opts out of `ruleId` with the skip annotation. As the engine does, the
 * object's own annotation wins over its pod template's; the value is a comma list of rule ids or `all`.
 */
function skippedExpression(root: string, ruleId: string, kinds: readonly string[]): string {
  const template = perKind(kinds, (kind) =>
    kind.template === ''
      ? '""'
      : `(has(${root}${kind.template}.metadata) ? ${annotation(`${root}${kind.template}.metadata`, SKIP_ANNOTATION)} : "")`,
  );
  const value = annotation(`${root}.metadata`, SKIP_ANNOTATION, template);
  const ws = '[\\x09-\\x0d\\x20\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]';
  return `${value}.matches(${celString(`(?:^|,)${ws}*(?:all|${ruleId.replace(/[-.]/g, '\\$&')})${ws}*(?:,|$)`)})`;
}

function metadata(name: string): JsonObject {
  return { name, labels: { ...LABELS } };
}

interface MatchSetup {
  policy: Policy;
  rule: Rule;
  kinds: readonly string[];
  operations: readonly string[];
  /** Pods created by a controller are left alone (validating rules: their owner was checked). */
  skipControlled: boolean;
}

function matchConstraints({ policy, kinds, operations }: MatchSetup): JsonObject {
  const excluded = policy.exclude.namespaces;
  return {
    resourceRules: resourceRules(kinds, operations),
    ...(excluded.length === 0
      ? {}
      : { namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...excluded] }] } }),
  };
}

function matchConditions(setup: MatchSetup): JsonObject[] {
  const conditions: JsonObject[] = [];
  if (setup.policy.allowSkipAnnotation) {
    conditions.push({ name: 'not-skipped', expression: `!${skippedExpression('object', setup.rule.meta.id, setup.kinds)}` });
  }
  if (setup.skipControlled && setup.kinds.includes('Pod')) {
    conditions.push({
      name: 'not-controller-owned',
      expression:
        'request.kind.kind != "Pod" || !has(object.metadata.ownerReferences) || ' +
        '!object.metadata.ownerReferences.exists(r, has(r.controller) && r.controller)',
    });
  }
  return conditions;
}

function failurePolicy(policy: Policy): string {
  return policy.failureMode === 'deny' ? 'Fail' : 'Ignore';
}

const NATIVE_SIDECAR = 'has(c.restartPolicy) && c.restartPolicy == "Always"';

/** CEL: the containers of a pod spec in the given roles (core/workload.ts containerViews). */
function containersOf(podSpec: string, roles: readonly ContainerRole[]): string {
  const sidecars = roles.includes('sidecar');
  const inits = roles.includes('init');
  const lists: string[] = [];
  if (sidecars || inits) {
    const filter = sidecars && inits ? '' : `.filter(c, ${sidecars ? '' : '!'}(${NATIVE_SIDECAR}))`;
    lists.push(`(has(${podSpec}.initContainers) ? ${podSpec}.initContainers${filter} : [])`);
  }
  if (roles.includes('container')) lists.push(`(has(${podSpec}.containers) ? ${podSpec}.containers : [])`);
  return lists.length === 0 ? '[]' : `(${lists.join(' + ')})`;
}

/** Where a rule applies, from its declared scope (engine/evaluate.ts containersInScope). */
interface RuleReach {
  kinds: readonly string[];
  /** CEL over `podSpec`: true when the rule does not apply to this pod spec. */
  exempt?: (podSpec: string) => string;
}

function ruleReach(rule: Rule, params: Record<string, unknown>): RuleReach {
  const allKinds = Object.keys(KINDS);
  if (rule.meta.scope.workloads === 'all' || params.includeRunToCompletion === true) return { kinds: allKinds };
  return {
    kinds: allKinds.filter((kind) => !RUN_TO_COMPLETION_KINDS.includes(kind)),
    exempt: (podSpec) =>
      `(request.kind.kind == "Pod" && has(${podSpec}.restartPolicy) && ${podSpec}.restartPolicy in ["Never", "OnFailure"])`,
  };
}

interface ValidatingCheck {
  /** CEL over `c`, a container in the rule's scope: true when it violates the rule. */
  violates: string;
  /** What is wrong with the named containers, after `container "a", "b"`. */
  problem: string;
}

/** no-shell-entrypoint's parameters, validated when the policy loaded. */
function shellParams(policy: Policy): ShellJudge {
  return policy.rules['no-shell-entrypoint'] as unknown as ShellJudge;
}

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'];

function validatingCheck(rule: Rule, policy: Policy): ValidatingCheck | undefined {
  switch (rule.meta.id) {
    case 'no-shell-entrypoint':
      return {
        violates: `!${shellCompliantExpression('c', shellParams(policy))}`,
        problem:
          'runs a shell with -c as PID 1 or under an init (tini, dumb-init): the shell does not pass SIGTERM on, and the app is SIGKILLed without a clean shutdown',
      };
    case 'require-readiness-probe':
      return {
        violates: '!has(c.readinessProbe)',
        problem: 'has no readinessProbe',
      };
    case 'distinct-liveness-readiness':
      return {
        violates:
          'has(c.livenessProbe) && has(c.readinessProbe) && ' +
          HANDLERS.map(
            (field) =>
              `has(c.livenessProbe.${field}) == has(c.readinessProbe.${field}) && (!has(c.livenessProbe.${field}) || c.livenessProbe.${field} == c.readinessProbe.${field})`,
          ).join(' && '),
        problem: 'runs the same check in livenessProbe and readinessProbe',
      };
    default:
      return undefined;
  }
}

function validatingPolicy(policy: Policy, rule: Rule, mode: Exclude<Mode, 'off'>): JsonObject[] {
  const check = validatingCheck(rule, policy);
  if (check === undefined)
    throw new ExportError(`rule ${rule.meta.id} has no CEL form; set rules.${rule.meta.id}.mode: off to export the others`);
  const reach = ruleReach(rule, policy.rules[rule.meta.id] ?? {});
  const setup: MatchSetup = { policy, rule, kinds: reach.kinds, operations: ['CREATE', 'UPDATE'], skipControlled: true };
  const name = `lifecycle-guard-${rule.meta.id}`;
  const violating = (podSpec: string) => {
    const all = `${containersOf(podSpec, rule.meta.scope.containers)}.filter(c, ${check.violates})`;
    return reach.exempt === undefined ? all : `${reach.exempt(podSpec)} ? [] : ${all}`;
  };
  // UPDATE denies only what the update introduces, as the webhook does: a container (by name) that
  // already violated in the old object, and was not skipped there, is left alone.
  const oldSkipped = setup.policy.allowSkipAnnotation ? ` || ${skippedExpression('oldObject', rule.meta.id, reach.kinds)}` : '';
  const previous = `request.operation != "UPDATE" || oldObject == null${oldSkipped} ? [] : ${violating('variables.oldPodSpec')}`;
  const subject = `request.kind.kind + " " + (has(object.metadata.namespace) ? object.metadata.namespace + "/" : "") + (has(object.metadata.name) ? object.metadata.name : "")`;
  const policyObject: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(name),
    spec: {
      failurePolicy: failurePolicy(policy),
      matchConstraints: matchConstraints(setup),
      matchConditions: matchConditions(setup),
      variables: [
        { name: 'podSpec', expression: podSpecOf('object', reach.kinds) },
        { name: 'oldPodSpec', expression: `oldObject == null ? null : ${podSpecOf('oldObject', reach.kinds)}` },
        { name: 'previous', expression: `(${previous}).map(c, c.name)` },
        { name: 'violating', expression: `(${violating('variables.podSpec')}).map(c, c.name).filter(n, !(n in variables.previous))` },
      ],
      validations: [
        {
          expression: 'variables.violating.size() == 0',
          message: `lifecycle-guard: [${rule.meta.id}] a container ${check.problem}. Fix: ${rule.meta.fix}`,
          messageExpression:
            `"lifecycle-guard: " + ${subject} + ": [${rule.meta.id}] container \\"" + variables.violating.join("\\", \\"") + ` +
            `${celString(`" ${check.problem}. Fix: ${rule.meta.fix}`)}`,
          reason: 'Forbidden',
        },
      ],
    },
  };
  const binding: JsonObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: metadata(name),
    spec: { policyName: name, validationActions: mode === 'enforce' ? ['Deny'] : ['Warn', 'Audit'] },
  };
  return [policyObject, binding];
}

/** CEL: JSON Patch operations for each container of `list` (a field of object.spec) where `when` holds. */
function patchEach(list: string, when: string, patch: (path: string) => string): string {
  return (
    `(has(object.spec.${list}) ? object.spec.${list}.transformList(i, c, ${when}, ` + `${patch(`"/spec/${list}/" + string(i)`)}) : [])`
  );
}

function preStopHandler(params: { seconds: number; action: string }, cluster: ClusterInfo): string {
  const version = cluster.version;
  const sleepAction =
    params.action === 'sleep' || (params.action === 'auto' && (version === undefined || version.major > 1 || version.minor >= 30));
  return sleepAction ? `{"sleep": {"seconds": ${params.seconds}}}` : `{"exec": {"command": ["sleep", "${params.seconds}"]}}`;
}

function mutations(rule: Rule, policy: Policy, cluster: ClusterInfo): { variables: JsonObject[]; expression: string } {
  switch (rule.meta.id) {
    case 'inject-prestop-delay': {
      const params = policy.rules[rule.meta.id] as { seconds: number; action: string; shutdownWindowSeconds: number };
      const handler = preStopHandler(params, cluster);
      const lacksPreStop = '!(has(c.lifecycle) && has(c.lifecycle.preStop))';
      const sidecar = NATIVE_SIDECAR;
      const add = (path: string) =>
        `has(c.lifecycle) ? JSONPatch{op: "add", path: ${path} + "/lifecycle/preStop", value: ${handler}} : ` +
        `JSONPatch{op: "add", path: ${path} + "/lifecycle", value: {"preStop": ${handler}}}`;
      const minimum = params.seconds + params.shutdownWindowSeconds;
      // JSONPatch values exist only in the mutation expression, not in variables.
      const preStops = `${patchEach('initContainers', `${sidecar} && ${lacksPreStop}`, add)} + ${patchEach('containers', lacksPreStop, add)}`;
      return {
        variables: [
          { name: 'runToCompletion', expression: 'has(object.spec.restartPolicy) && object.spec.restartPolicy in ["Never", "OnFailure"]' },
          {
            name: 'addsPreStop',
            expression:
              `!variables.runToCompletion && ((has(object.spec.initContainers) && object.spec.initContainers.exists(c, ${sidecar} && ${lacksPreStop})) || ` +
              `(has(object.spec.containers) && object.spec.containers.exists(c, ${lacksPreStop})))`,
          },
          {
            name: 'gracePeriod',
            expression: `has(object.spec.terminationGracePeriodSeconds) ? object.spec.terminationGracePeriodSeconds : ${DEFAULT_GRACE_PERIOD_SECONDS}`,
          },
        ],
        expression:
          `!variables.addsPreStop ? [] : ${preStops} + (variables.gracePeriod < ${minimum} ? ` +
          `[JSONPatch{op: "add", path: "/spec/terminationGracePeriodSeconds", value: ${minimum}}] : [])`,
      };
    }
    case 'termination-message-fallback': {
      const set = (path: string) => `JSONPatch{op: "add", path: ${path} + "/terminationMessagePolicy", value: "FallbackToLogsOnError"}`;
      const unset = '!(has(c.terminationMessagePolicy) && c.terminationMessagePolicy == "FallbackToLogsOnError")';
      return { variables: [], expression: `${patchEach('initContainers', unset, set)} + ${patchEach('containers', unset, set)}` };
    }
    default:
      throw new ExportError(`rule ${rule.meta.id} has no CEL form; set rules.${rule.meta.id}.mode: off to export the others`);
  }
}

function mutatingPolicy(policy: Policy, rule: Rule, apiVersion: string, cluster: ClusterInfo): JsonObject[] {
  const setup: MatchSetup = { policy, rule, kinds: ['Pod'], operations: ['CREATE'], skipControlled: false };
  const name = `lifecycle-guard-${rule.meta.id}`;
  const { variables, expression } = mutations(rule, policy, cluster);
  return [
    {
      apiVersion,
      kind: 'MutatingAdmissionPolicy',
      metadata: metadata(name),
      spec: {
        failurePolicy: failurePolicy(policy),
        reinvocationPolicy: 'IfNeeded',
        matchConstraints: matchConstraints(setup),
        matchConditions: matchConditions(setup),
        variables,
        mutations: [{ patchType: 'JSONPatch', jsonPatch: { expression } }],
      },
    },
    { apiVersion, kind: 'MutatingAdmissionPolicyBinding', metadata: metadata(name), spec: { policyName: name } },
  ];
}

/** Where the exported policies behave differently from the webhook, whatever the policy says. */
export const GENERAL_DIFFERENCES: readonly string[] = [
  'Pods created by a controller are not checked at all (the webhook admits them with a warning).',
  'UPDATE: violations the old object already had are admitted without a warning (the webhook warns).',
  'Denials and warnings name the rule and the containers, but not the shell command as written.',
  'Audit mode: findings go to the audit log as validation.policy.admission.k8s.io/validation_failure, not as lifecycle-guard.io/* annotations.',
  'mutateTemplates is not exported: Pods are mutated when they are created, pod templates never.',
];

function versionText(version: KubeVersion): string {
  return `${version.major}.${version.minor}`;
}

function atLeast(version: KubeVersion, minor: number): boolean {
  return version.major > 1 || (version.major === 1 && version.minor >= minor);
}

/**
 * ValidatingAdmissionPolicies and MutatingAdmissionPolicies (with their bindings) that enforce the
 * policy in the API server itself, for a cluster of the given version. Pure.
 */
export function exportAdmissionPolicies(policy: Policy, version: KubeVersion = DEFAULT_EXPORT_VERSION): AdmissionPolicyExport {
  if (!atLeast(version, 30)) {
    throw new ExportError(
      `Kubernetes ${versionText(version)} has no ValidatingAdmissionPolicy v1 (1.30+); use the webhook (kubectl apply -k manifests/)`,
    );
  }
  const cluster: ClusterInfo = { version };
  const objects: JsonObject[] = [];
  const differences = [...GENERAL_DIFFERENCES];
  for (const rule of RULES) {
    const mode = effectiveMode(policy, rule);
    if (mode === 'off') continue;
    if (rule.meta.type === 'validating') {
      objects.push(...validatingPolicy(policy, rule, mode));
      if (rule.meta.id === 'no-shell-entrypoint') differences.push(...shellDifferences(shellParams(policy)));
      continue;
    }
    if (mode === 'audit') {
      differences.push(`${rule.meta.id}: audit mode is not exported (a MutatingAdmissionPolicy cannot warn); the rule is left out.`);
      continue;
    }
    if (!atLeast(version, 34)) {
      throw new ExportError(
        `MutatingAdmissionPolicy needs Kubernetes 1.34+ (this is ${versionText(version)}); ` +
          `set rules.${rule.meta.id}.mode: off to export only the validating rules, or use the webhook`,
      );
    }
    objects.push(...mutatingPolicy(policy, rule, `admissionregistration.k8s.io/${atLeast(version, 36) ? 'v1' : 'v1beta1'}`, cluster));
  }
  return { objects, differences };
}
