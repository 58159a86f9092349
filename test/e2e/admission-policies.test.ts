// Differential test of `lifecycle-guard export`: a real API server with only the exported
// ValidatingAdmissionPolicies and MutatingAdmissionPolicies bound (no webhook) must admit, deny and
// mutate exactly as the webhook's own decision functions do, for every object of the rule fixtures
// and a few hundred generated ones.
//
// Each object is sent twice as a dry-run CREATE (what `kubectl apply --dry-run=server` sends, without
// kubectl's one-error-loses-the-batch behaviour): into a namespace the policy
// excludes, which returns it as the webhook would receive it (defaulted, unmutated), and into a
// checked one. The webhook's decision on the first answer is the expectation for the second.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { getPath, isObject, type JsonObject } from '../../src/core/types.js';
import { parsePolicy } from '../../src/engine/policy-text.js';
import type { Policy } from '../../src/engine/policy.js';
import { mutateRequest } from '../../src/server/admission/mutate.js';
import type { AdmissionRequest } from '../../src/server/admission/review.js';
import { validateRequest } from '../../src/server/admission/validate.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { CLI, eventually } from './harness/webhook.js';
import { shellWords } from '../export/arbitraries.js';
import { LONE_COMMAND_WINDOW } from '../../src/export/shell-cel.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const CHECKED = 'checked';
const UNCHECKED = 'unchecked';
const MUTATE_ONLY = 'mutate-only';
const VALIDATING_RULES = ['no-shell-entrypoint', 'require-readiness-probe', 'distinct-liveness-readiness'];
// Every rule enforced, so that every CEL check decides a verdict.
const POLICY_TEXT = `
mode: enforce
rules:
  distinct-liveness-readiness: {mode: enforce}
exclude:
  namespaces: [kube-system, kube-public, kube-node-lease, ${UNCHECKED}]
`;
const POLICY: Policy = parsePolicy(POLICY_TEXT, 'test policy');

let cp: ControlPlane;

function fixtureObjects(): JsonObject[] {
  const objects: JsonObject[] = [];
  for (const rule of readdirSync(FIXTURES)) {
    for (const file of readdirSync(join(FIXTURES, rule))) {
      for (const document of parseAllDocuments(readFileSync(join(FIXTURES, rule, file), 'utf8'))) {
        const value: unknown = document.toJS();
        const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
        objects.push(...items.filter(isObject));
      }
    }
  }
  return objects;
}

const CONTROLLER = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'owner',
  uid: '00000000-0000-0000-0000-000000000001',
  controller: true,
};

/** The Pods a controller would create from each workload's pod template: admitted, then mutated. */
function podsFromTemplates(objects: readonly JsonObject[]): JsonObject[] {
  return objects.flatMap((object) => {
    const template = getPath(object, ['spec', 'template']) ?? getPath(object, ['spec', 'jobTemplate', 'spec', 'template']);
    if (object.kind === 'Pod' || object.kind === 'PodTemplate' || !isObject(template) || !isObject(template.spec)) return [];
    return [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { ...(isObject(template.metadata) ? template.metadata : {}), ownerReferences: [CONTROLLER] },
        spec: template.spec,
      },
    ];
  });
}

// ---------------------------------------------------------------- generated objects

const probe = fc.constantFrom<JsonObject>(
  { tcpSocket: { port: 80 } },
  { httpGet: { path: '/', port: 80 } },
  { exec: { command: ['true'] } },
);
const container = (name: string) =>
  fc
    .record(
      {
        // Often a shell invocation to start with, so that no-shell-entrypoint has something to judge.
        command: fc
          .tuple(
            fc.constantFrom<string[]>(
              ['sh', '-c'],
              ['/bin/bash', '-ec'],
              ['env', 'A=1', 'sh', '-c'],
              ['busybox', 'sh', '-c'],
              ['bash', '-o', 'pipefail', '-c'],
              ['zsh', '-c'],
              ['tini', '--', 'sh', '-c'],
              ['/usr/bin/dumb-init', '--rewrite', '15:2', 'bash', '-c'],
              ['catatonit', '-g'],
              [],
            ),
            fc.array(shellWords, { minLength: 1, maxLength: 4 }),
          )
          .map(([start, rest]) => [...start, ...rest]),
        args: fc.array(shellWords, { maxLength: 3 }),
        readinessProbe: probe,
        livenessProbe: probe,
        lifecycle: fc.constantFrom<JsonObject>(
          { preStop: { exec: { command: ['drain'] } } },
          { postStart: { exec: { command: ['warm'] } } },
        ),
        terminationMessagePolicy: fc.constantFrom('File', 'FallbackToLogsOnError'),
        restartPolicy: fc.constant('Always'),
      },
      { requiredKeys: [] },
    )
    .map((fields) => ({ name, image: 'nginx', ...fields }));
const podSpec = fc
  .record(
    {
      containers: fc.tuple(container('a'), fc.option(container('b'), { nil: undefined })),
      initContainers: fc.tuple(container('init'), fc.option(container('side'), { nil: undefined })),
      restartPolicy: fc.constantFrom('Always', 'Never', 'OnFailure'),
      terminationGracePeriodSeconds: fc.integer({ min: 0, max: 40 }),
    },
    { requiredKeys: ['containers'] },
  )
  .map(({ containers, initContainers, ...rest }) => ({
    ...rest,
    // Regular containers have no restartPolicy; init containers may (native sidecars).
    containers: containers.filter((item) => item !== undefined).map(({ restartPolicy: _unused, ...spec }) => spec),
    // Probes and lifecycle hooks are allowed only on native sidecars among init containers.
    ...(initContainers === undefined
      ? {}
      : {
          initContainers: initContainers
            .filter((item) => item !== undefined)
            .map(({ readinessProbe, livenessProbe, lifecycle, ...spec }) =>
              spec.restartPolicy === 'Always' ? { ...spec, readinessProbe, livenessProbe, lifecycle } : spec,
            ),
        }),
  }));
const skipAnnotation = fc.option(
  fc.constantFrom(
    'all',
    ' all ',
    'no-shell-entrypoint',
    'require-readiness-probe, inject-prestop-delay',
    'termination-message-fallback,other',
    'allx',
  ),
  { nil: undefined },
);
const generatedObject = fc
  .record({
    kind: fc.constantFrom('Pod', 'Pod', 'Deployment', 'CronJob'),
    spec: podSpec,
    skip: skipAnnotation,
    controlled: fc.boolean(),
    templateSkip: skipAnnotation,
  })
  .map(({ kind, spec, skip, controlled, templateSkip }): JsonObject => {
    const annotations = skip === undefined ? {} : { annotations: { 'lifecycle-guard.io/skip': skip } };
    const templateMetadata = {
      labels: { app: 'x' },
      ...(templateSkip === undefined ? {} : { annotations: { 'lifecycle-guard.io/skip': templateSkip } }),
    };
    if (kind === 'Pod') {
      const owner = controlled ? { ownerReferences: [CONTROLLER] } : {};
      return { apiVersion: 'v1', kind, metadata: { ...annotations, ...owner }, spec };
    }
    if (kind === 'Deployment') {
      return {
        apiVersion: 'apps/v1',
        kind,
        metadata: annotations,
        spec: {
          selector: { matchLabels: { app: 'x' } },
          template: { metadata: templateMetadata, spec: { ...spec, restartPolicy: 'Always' } },
        },
      };
    }
    const jobSpec = { ...spec, restartPolicy: spec.restartPolicy === 'Always' ? 'Never' : spec.restartPolicy };
    return {
      apiVersion: 'batch/v1',
      kind,
      metadata: annotations,
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { metadata: templateMetadata, spec: jobSpec } } } },
    };
  });

// ---------------------------------------------------------------- dry runs

/** Plural resource names of the kinds the fixtures hold; other kinds are left out. */
const RESOURCES: Record<string, string> = {
  Pod: 'pods',
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  ReplicaSet: 'replicasets',
  ReplicationController: 'replicationcontrollers',
  Job: 'jobs',
  CronJob: 'cronjobs',
  Service: 'services',
  ConfigMap: 'configmaps',
  PodTemplate: 'podtemplates',
  PodDisruptionBudget: 'poddisruptionbudgets',
};

interface DryRun {
  /** What the API server would store, by object name. */
  stored: Map<string, JsonObject>;
  /** Why the API server refused, by object name. */
  refused: Map<string, string>;
}

/** POST with dryRun=All: a CREATE that runs admission and stores nothing (what `kubectl apply --dry-run=server` sends). */
function createDryRun(object: JsonObject, namespace: string): Promise<{ status: number; body: JsonObject }> {
  const apiVersion = String(object.apiVersion);
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const body = JSON.stringify(object);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${cp.serverUrl}${base}/namespaces/${namespace}/${RESOURCES[String(object.kind)]}?dryRun=All`,
      { method: 'POST', ca: cp.caCertPem, headers: { authorization: `Bearer ${cp.token}`, 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Creates every object (dry run) in the namespace, each under a unique name, a few at a time. */
async function dryRun(objects: readonly JsonObject[], namespace: string): Promise<DryRun> {
  const stored = new Map<string, JsonObject>();
  const refused = new Map<string, string>();
  const queue: JsonObject[] = objects.map((object, index) => ({
    ...object,
    metadata: { ...(object.metadata as JsonObject), name: `obj-${index}`, namespace },
  }));
  const worker = async () => {
    for (let object = queue.shift(); object !== undefined; object = queue.shift()) {
      if (!Object.hasOwn(RESOURCES, String(object.kind))) continue;
      const name = String((object.metadata as JsonObject).name);
      const { status, body } = await createDryRun(object, namespace);
      if (status === 201 || status === 200) stored.set(name, body);
      else refused.set(name, `${status} ${String(body.message)}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { stored, refused };
}

function admissionRequest(object: JsonObject, namespace: string): AdmissionRequest {
  const metadata = object.metadata as JsonObject;
  return {
    uid: 'x',
    operation: 'CREATE',
    kind: String(object.kind),
    namespace,
    name: String(metadata.name),
    object,
    oldObject: undefined,
    dryRun: true,
  };
}

/** The object as the webhook's JSON Patch leaves it (Pods on CREATE; templates are not mutated by this policy). */
function webhookMutates(object: JsonObject, namespace: string): JsonObject {
  const { patch } = mutateRequest(admissionRequest(object, namespace), POLICY, {}).response;
  if (patch === undefined) return object;
  const operations = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
  return fastJsonPatch.applyPatch(structuredClone(object), operations).newDocument;
}

/** A spec with the object's own uid (a Job's selector holds it) replaced, so two dry runs compare. */
function comparableSpec(object: JsonObject): unknown {
  const uid = String((object.metadata as JsonObject).uid);
  return JSON.parse(JSON.stringify(object.spec ?? null).replaceAll(uid, '<uid>'));
}

function sameSpec(a: JsonObject, b: JsonObject): boolean {
  return isDeepStrictEqual(comparableSpec(a), comparableSpec(b));
}

async function waitUntilEnforced(): Promise<void> {
  const probePod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {},
    spec: { containers: [{ name: 'a', image: 'nginx', command: ['sh', '-c', 'x'] }] },
  };
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const { refused } = await dryRun([probePod], CHECKED);
    const mutated = await dryRun(
      [{ ...probePod, spec: { containers: [{ name: 'a', image: 'nginx', readinessProbe: { tcpSocket: { port: 80 } } }] } }],
      CHECKED,
    );
    const pod = mutated.stored.get('obj-0');
    if (refused.size === 1 && (pod?.spec as { containers: JsonObject[] } | undefined)?.containers[0]?.lifecycle !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('the exported policies did not take effect within 30 s');
}

/** Namespace where only this validating rule's binding applies. */
function ruleNamespace(ruleId: string): string {
  return `only-${ruleId}`;
}

before(async () => {
  cp = await startControlPlane();
  // Each validating binding is narrowed to namespaces labelled with its rule, so that one rule's
  // verdict is seen on its own (a denial names only the first policy that denies).
  const label = (ruleId: string) => `lifecycle-guard-test/${ruleId}`;
  const namespaces: Array<[string, string[]]> = [
    [CHECKED, VALIDATING_RULES],
    [UNCHECKED, []],
    [MUTATE_ONLY, []],
    ...VALIDATING_RULES.map((ruleId): [string, string[]] => [ruleNamespace(ruleId), [ruleId]]),
  ];
  for (const [name, rules] of namespaces) {
    await cp.kubectl(['create', 'namespace', name]);
    if (rules.length > 0) await cp.kubectl(['label', 'namespace', name, ...rules.map((ruleId) => `${label(ruleId)}=on`)]);
  }
  const policyFile = join(cp.dir, 'policy.yaml');
  execFileSync('sh', ['-c', `cat > ${policyFile}`], { input: POLICY_TEXT });
  const exported = execFileSync(process.execPath, [CLI, 'export', '--policy', policyFile, '--kube-version', '1.37', '-o', 'json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const list = JSON.parse(exported) as { items: JsonObject[] };
  for (const item of list.items) {
    if (item.kind !== 'ValidatingAdmissionPolicyBinding') continue;
    const ruleId = String((item.spec as JsonObject).policyName).replace('lifecycle-guard-', '');
    (item.spec as JsonObject).matchResources = { namespaceSelector: { matchExpressions: [{ key: label(ruleId), operator: 'Exists' }] } };
  }
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(list) });
  await waitUntilEnforced();
});

after(async () => {
  await cp?.stop();
});

/** The policy with every validating rule but one turned off. */
function onlyValidating(ruleId: string): Policy {
  const rules = Object.fromEntries(
    Object.entries(POLICY.rules).map(([id, entry]) => [
      id,
      VALIDATING_RULES.includes(id) && id !== ruleId ? { ...entry, mode: 'off' as const } : entry,
    ]),
  );
  return { ...POLICY, rules };
}

function inNamespace(object: JsonObject, namespace: string): JsonObject {
  return { ...object, metadata: { ...(object.metadata as JsonObject), namespace } };
}

interface Counts {
  checked: number;
  /** Denials per validating rule. */
  denied: Record<string, number>;
  mutated: number;
}

/**
 * Sends the objects through the reference namespace, one namespace per validating rule and one
 * with only the mutations, and compares each answer with the webhook's decision functions.
 */
async function compare(objects: readonly JsonObject[]): Promise<Counts> {
  const reference = await dryRun(objects, UNCHECKED);
  const mutatedOnly = await dryRun(objects, MUTATE_ONLY);
  const perRule = await Promise.all(VALIDATING_RULES.map((ruleId) => dryRun(objects, ruleNamespace(ruleId))));
  const problems: string[] = [];
  const counts: Counts = { checked: 0, denied: Object.fromEntries(VALIDATING_RULES.map((ruleId) => [ruleId, 0])), mutated: 0 };
  for (const [name, defaulted] of reference.stored) {
    counts.checked += 1;
    VALIDATING_RULES.forEach((ruleId, index) => {
      const namespace = ruleNamespace(ruleId);
      const request = admissionRequest(inNamespace(defaulted, namespace), namespace);
      const expectDenied = validateRequest(request, onlyValidating(ruleId), {}).verdict === 'denied';
      const answer = perRule[index] as DryRun;
      const actuallyDenied = !answer.stored.has(name);
      if (expectDenied !== actuallyDenied) {
        problems.push(
          `${name} ${String(defaulted.kind)} [${ruleId}]: webhook ${expectDenied ? 'denies' : 'admits'}, API server ` +
            `${actuallyDenied ? `denies: ${answer.refused.get(name) ?? '(no answer)'}` : 'admits'}\n${JSON.stringify(defaulted.spec)}`,
        );
      }
      if (actuallyDenied) (counts.denied[ruleId] as number) += 1;
    });
    const actual = mutatedOnly.stored.get(name);
    if (actual === undefined) {
      problems.push(
        `${name} ${String(defaulted.kind)}: refused where only mutations apply: ${mutatedOnly.refused.get(name) ?? '(no answer)'}`,
      );
      continue;
    }
    const expected = webhookMutates(inNamespace(defaulted, MUTATE_ONLY), MUTATE_ONLY);
    if (!sameSpec(actual, expected)) {
      problems.push(
        `${name} ${String(defaulted.kind)}: stored spec differs from the webhook's mutation\n  API server: ${JSON.stringify(actual.spec)}\n  webhook:    ${JSON.stringify(expected.spec)}`,
      );
    }
    if (!sameSpec(actual, defaulted)) counts.mutated += 1;
  }
  assert.deepEqual(problems, [], problems.slice(0, 5).join('\n\n'));
  return counts;
}

test('every rule fixture, and the Pods its controllers would create, get the webhook verdict and mutation from the exported policies', async (t) => {
  const fixtures = fixtureObjects();
  const objects = [...fixtures, ...podsFromTemplates(fixtures)];
  const result = await compare(objects);
  t.diagnostic(`${objects.length} objects: ${JSON.stringify(result)}`);
  // The fixtures must reach the API server, or the comparison says nothing.
  assert.ok(
    result.checked >= objects.length * 0.9,
    `only ${result.checked} of ${objects.length} fixture objects were accepted by the API server`,
  );
  // Each rule must deny something and the mutations must change something, or agreeing proves little.
  assert.ok(Object.values(result.denied).every((count) => count >= 3) && result.mutated > 10, JSON.stringify(result));
});

test('generated objects get the webhook verdict and mutation from the exported policies', async (t) => {
  const objects = fc.sample(generatedObject, { numRuns: 300, seed: 1414 });
  const result = await compare(objects);
  t.diagnostic(`${objects.length} objects: ${JSON.stringify(result)}`);
  assert.ok(result.checked >= 250, `only ${result.checked} of 300 generated objects were accepted by the API server`);
  assert.ok(
    Object.values(result.denied).every((count) => count >= 10 && count <= result.checked - 10),
    JSON.stringify(result),
  );
});

test('a skip annotation for one rule leaves the others in force', async () => {
  const pod = (skip: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { annotations: { 'lifecycle-guard.io/skip': skip } },
    spec: { containers: [{ name: 'a', image: 'nginx', command: ['sh', '-c', 'x'], readinessProbe: { tcpSocket: { port: 80 } } }] },
  });
  const { stored, refused } = await dryRun([pod('no-shell-entrypoint'), pod('require-readiness-probe')], CHECKED);
  assert.ok(stored.has('obj-0'));
  assert.match(refused.get('obj-1') ?? '', /\[no-shell-entrypoint\] container "a" runs a shell/);
});

test('a 16 KB script is judged within the API server CEL cost limit (failurePolicy Ignore would admit it unchecked)', async () => {
  const script = (last: string) => `${'prepare; '.repeat(16_384 / 9)}${last}`;
  const pod = (last: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {},
    spec: { containers: [{ name: 'a', image: 'nginx', command: ['sh', '-c', script(last)], readinessProbe: { tcpSocket: { port: 80 } } }] },
  });
  const { stored, refused } = await dryRun([pod('exec app'), pod('app')], ruleNamespace('no-shell-entrypoint'));
  assert.ok(stored.has('obj-0'), refused.get('obj-0'));
  assert.match(refused.get('obj-1') ?? '', /\[no-shell-entrypoint\]/);
});

test('UPDATE denies only the violations it introduces; workloads that violated before the policy keep updating', async () => {
  const namespace = 'legacy';
  await cp.kubectl(['create', 'namespace', namespace]);
  const deployment = (containers: JsonObject[], labels: Record<string, string> = {}) =>
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'old', namespace, labels },
      spec: { selector: { matchLabels: { app: 'old' } }, template: { metadata: { labels: { app: 'old' } }, spec: { containers } } },
    });
  const shell = (name: string) => ({ name, image: 'nginx', command: ['sh', '-c', 'nginx'], readinessProbe: { tcpSocket: { port: 80 } } });
  // Stored before the rule applies to the namespace.
  await cp.kubectl(['apply', '-f', '-'], { input: deployment([shell('web')]) });
  await cp.kubectl(['label', 'namespace', namespace, 'lifecycle-guard-test/no-shell-entrypoint=on']);
  const update = (containers: JsonObject[], labels: Record<string, string>) =>
    cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment(containers, labels), allowFail: true });
  await eventually(
    async () => (await update([shell('web'), shell('worker')], {})).code !== 0,
    30_000,
    'the binding to select the labelled namespace',
  );
  const added = await update([shell('web'), shell('worker')], {});
  assert.match(added.stderr, /container "worker" runs a shell/);
  assert.doesNotMatch(added.stderr, /container "web"/);
  const relabelled = await update([shell('web')], { team: 'shop' });
  assert.equal(relabelled.code, 0, relabelled.stderr);
});

test('a one-line script is read for a lone command up to the window within the CEL cost limit; past it, a lone-command shell is admitted', async () => {
  const pod = (shell: string, size: number) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {},
    spec: {
      containers: [
        { name: 'a', image: 'nginx', command: [shell, '-c', `app ${'x'.repeat(size)} | tee`], readinessProbe: { tcpSocket: { port: 80 } } },
      ],
    },
  });
  const objects = [pod('bash', LONE_COMMAND_WINDOW - 20), pod('bash', LONE_COMMAND_WINDOW + 1), pod('sh', LONE_COMMAND_WINDOW + 1)];
  const { stored, refused } = await dryRun(objects, ruleNamespace('no-shell-entrypoint'));
  assert.match(refused.get('obj-0') ?? '', /\[no-shell-entrypoint\]/);
  assert.ok(stored.has('obj-1'), 'past the window, the listed difference: admitted unread');
  assert.match(refused.get('obj-2') ?? '', /\[no-shell-entrypoint\]/);
});
