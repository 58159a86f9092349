// The Helm chart (charts/lifecycle-guard) with the real helm: lint, rendered output checked clean by
// lifecycle-guard itself, no drift from the kustomize manifests (rendered by the real kubectl), its
// values, and `helm install` into a real kube-apiserver followed by a denial through kubectl. As in
// cluster-mode.test.ts, the webhook runs as a local process (the ServiceAccount's kubeconfig, so the
// chart's RBAC applies) and the chart's webhook configurations are pointed at it by URL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { parsePolicy } from '../../src/engine/policy-text.js';
import { resolveBinaries, startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { CHART, helmRunner } from './harness/helm.js';
import { BAD_DEPLOYMENT, clusterModeArgs, MANIFESTS_BASE, SERVICE_ACCOUNT, SERVICE_ACCOUNT_USER } from './harness/manifests.js';
import { CLI, eventually, startWebhook, type Webhook } from './harness/webhook.js';

type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
} & Record<string, unknown>;

const MANIFESTS = join(MANIFESTS_BASE, '..');
const helm = helmRunner();
const work = mkdtempSync(join(tmpdir(), 'lg-chart-'));
after(() => rmSync(work, { recursive: true, force: true }));

const parseObjects = (text: string): K8sObject[] =>
  parseAllDocuments(text)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);

/** `helm template` of the chart as release lifecycle-guard in namespace lifecycle-guard. */
function template(...set: string[]): K8sObject[] {
  return parseObjects(templateText(...set));
}

function templateText(...set: string[]): string {
  const result = helm([
    'template',
    'lifecycle-guard',
    CHART,
    '--namespace',
    'lifecycle-guard',
    ...set.flatMap((value) => ['--set', value]),
  ]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

function kustomize(directory: string): K8sObject[] {
  const result = spawnSync(resolveBinaries().kubectl, ['kustomize', directory], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return parseObjects(result.stdout);
}

const key = (object: K8sObject) => `${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
const find = (objects: K8sObject[], kind: string) => objects.find((object) => object.kind === kind) ?? assert.fail(`no ${kind}`);
/** The policy of the chart's ConfigMap, as the webhook reads it. */
const policyOf = (objects: K8sObject[]) =>
  parsePolicy((find(objects, 'ConfigMap') as unknown as { data: Record<string, string> }).data['policy.yaml'] ?? '', 'chart');

/**
 * What must not drift: everything but labels (Helm adds its own, and an instance label to the
 * selectors), Helm's keep annotation and the policy checksum; the policy is compared as the webhook
 * reads it (defaults applied), since the chart writes exclude.namespaces and scan.reportFormat out.
 */
function normalize(object: K8sObject): unknown {
  const copy = structuredClone(object) as K8sObject & { data?: Record<string, string> };
  delete (copy.metadata as { labels?: unknown }).labels;
  const annotations = copy.metadata.annotations ?? {};
  delete annotations['helm.sh/resource-policy'];
  if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value)
      .filter(([name]) => name !== 'app.kubernetes.io/instance' && name !== 'lifecycle-guard.io/policy-checksum')
      .map(([name, inner]) => [name, strip(inner)] as const)
      .filter(([name, inner]) => !(name === 'annotations' && Object.keys(inner as object).length === 0));
    return Object.fromEntries(entries);
  };
  if (copy.kind === 'ConfigMap' && copy.data?.['policy.yaml'] !== undefined) {
    copy.data = { ...copy.data, 'policy.yaml': JSON.stringify(parsePolicy(copy.data['policy.yaml'], key(object))) };
  }
  return strip(copy);
}

/** The chart against a kustomization: the same objects (but the Namespace, which `helm --create-namespace` makes), equal once normalized. */
function assertNoDrift(chart: K8sObject[], kustomized: K8sObject[]): void {
  const fromKustomize = new Map(kustomized.filter((object) => object.kind !== 'Namespace').map((object) => [key(object), object]));
  const fromChart = new Map(chart.map((object) => [key(object), object]));
  assert.deepEqual([...fromChart.keys()].sort(), [...fromKustomize.keys()].sort());
  for (const [name, object] of fromChart) assert.deepEqual(normalize(object), normalize(fromKustomize.get(name) as K8sObject), name);
}

function checkClean(text: string): {
  status: number | null;
  report: { findings: unknown[]; invalidFiles: unknown[]; summary: { objects: number } };
} {
  const file = join(work, `rendered-${Date.now()}.yaml`);
  const policy = join(work, 'strict-policy.yaml');
  writeFileSync(file, text);
  writeFileSync(policy, 'exclude:\n  namespaces: []\nallowSkipAnnotation: false\nrules:\n  distinct-liveness-readiness: {mode: enforce}\n');
  const result = spawnSync(process.execPath, [CLI, 'check', file, '--policy', policy, '-o', 'json'], { encoding: 'utf8' });
  return { status: result.status, report: JSON.parse(result.stdout) };
}

describe('helm chart: rendering', () => {
  test('helm lint --strict passes, with defaults and with every mode', () => {
    for (const set of [
      [],
      ['certificates.mode=cert-manager'],
      ['scanOnly=true', 'crds.install=false'],
      ['policy.existingConfigMap=mine'],
      ['imageInspection.readPullSecrets=true', 'networkPolicy.enabled=false'],
    ]) {
      const result = helm(['lint', '--strict', CHART, ...set.flatMap((value) => ['--set', value])]);
      assert.equal(result.code, 0, `${set.join(' ')}: ${result.stdout}${result.stderr}`);
    }
  });

  test('helm template is clean under lifecycle-guard check (no namespace excluded, every rule enforced)', () => {
    for (const set of [[], ['certificates.mode=cert-manager']]) {
      const { status, report } = checkClean(templateText(...set));
      assert.equal(status, 0, JSON.stringify(report.findings));
      assert.deepEqual(report.findings, []);
      assert.deepEqual(report.invalidFiles, []);
      assert.ok(report.summary.objects >= 14);
    }
  });

  test('no drift: the default chart renders the objects of kubectl apply -k manifests/', () => {
    assertNoDrift(template(), kustomize(MANIFESTS));
  });

  test('no drift: certificates.mode=cert-manager renders manifests/overlays/cert-manager (report CRDs included)', () => {
    const chart = template('certificates.mode=cert-manager');
    assertNoDrift(chart, kustomize(join(MANIFESTS, 'overlays', 'cert-manager')));
    assert.equal(chart.filter((object) => object.kind === 'CustomResourceDefinition').length, 4);
  });

  test('no drift: crds.install=false renders manifests/overlays/without-crds', () => {
    assertNoDrift(template('crds.install=false'), kustomize(join(MANIFESTS, 'overlays', 'without-crds')));
  });

  test('no drift: scanOnly=true renders manifests/overlays/scan-only', () => {
    assertNoDrift(template('scanOnly=true'), kustomize(join(MANIFESTS, 'overlays', 'scan-only')));
  });

  test('no drift: imageInspection.readPullSecrets=true renders manifests/overlays/image-pull-secrets, and the policy reads pull secrets', () => {
    const chart = template('imageInspection.readPullSecrets=true', 'crds.install=false');
    assert.equal((policyOf(chart).rules['no-shell-entrypoint'] as { images: { pullSecrets: boolean } }).images.pullSecrets, true);
    assert.equal((policyOf(template()).rules['no-shell-entrypoint'] as { images: { pullSecrets: boolean } }).images.pullSecrets, false);
    // The overlay leaves the policy to the user (its comment says to set pullSecrets); everything else must match.
    const withoutPolicy = (objects: K8sObject[]) => objects.filter((object) => object.kind !== 'ConfigMap');
    assertNoDrift(withoutPolicy(chart), withoutPolicy(kustomize(join(MANIFESTS, 'overlays', 'image-pull-secrets'))));
    const secretRules = chart
      .filter((object) => object.kind === 'ClusterRole')
      .flatMap((object) => (object as unknown as { rules: { resources: string[]; verbs: string[] }[] }).rules)
      .filter((rule) => rule.resources.includes('secrets'));
    assert.deepEqual(
      secretRules.map((rule) => rule.verbs),
      [['get']],
    );
  });

  test("workloadKinds: into the policy, both webhooks' rules and the ClusterRole", () => {
    const objects = template(
      'workloadKinds[0].kind=CloneSet',
      'workloadKinds[0].group=apps.kruise.io',
      'workloadKinds[0].version=v1alpha1',
      'workloadKinds[0].resource=clonesets',
      'workloadKinds[0].podSpecPath=spec.template.spec',
    );
    const policy = policyOf(objects);
    assert.deepEqual(policy.workloadKinds, [
      {
        kind: 'CloneSet',
        group: 'apps.kruise.io',
        version: 'v1alpha1',
        resource: 'clonesets',
        podSpecPath: ['spec', 'template', 'spec'],
        runToCompletion: false,
      },
    ]);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const rules =
        (find(objects, kind) as unknown as { webhooks: { rules: { apiGroups: string[]; resources: string[]; operations: string[] }[] }[] })
          .webhooks[0]?.rules ?? [];
      assert.deepEqual(
        rules.filter((rule) => rule.apiGroups.includes('apps.kruise.io')).map((rule) => [rule.resources, rule.operations]),
        [[['clonesets'], ['CREATE', 'UPDATE']]],
        kind,
      );
    }
    const clusterRole = find(objects, 'ClusterRole') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    assert.deepEqual(
      clusterRole.rules.filter((rule) => rule.apiGroups.includes('apps.kruise.io')),
      [{ apiGroups: ['apps.kruise.io'], resources: ['clonesets'], verbs: ['list'] }],
    );
  });

  test('matchConditions: the skip annotation is left to the API server only while the policy honours it', () => {
    const conditions = (objects: K8sObject[]) =>
      ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].map((kind) =>
        (
          find(objects, kind) as unknown as { webhooks: { matchConditions: { name: string; expression: string }[] }[] }
        ).webhooks[0]?.matchConditions.map((condition) => condition.name),
      );
    assert.deepEqual(conditions(template()), [
      ['not-skipped', 'not-lifecycle-guard-itself'],
      ['not-skipped', 'not-lifecycle-guard-itself'],
    ]);
    assert.deepEqual(conditions(template('policy.inline.allowSkipAnnotation=false')), [
      ['not-lifecycle-guard-itself'],
      ['not-lifecycle-guard-itself'],
    ]);
    const other = helm(['template', 'lg', CHART, '--namespace', 'ops']);
    assert.equal(other.code, 0, other.stderr);
    const own = (
      find(parseObjects(other.stdout), 'ValidatingWebhookConfiguration') as unknown as {
        webhooks: { matchConditions: { expression: string }[] }[];
      }
    ).webhooks[0]?.matchConditions[1];
    assert.equal(own?.expression, "request.userInfo.username != 'system:serviceaccount:ops:lg-lifecycle-guard'");
  });

  test('metrics.port and networkPolicy values', () => {
    const objects = template(
      'metrics.port=9300',
      'networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24',
      'networkPolicy.metricsNamespaceSelector.matchLabels.team=monitoring',
    );
    assert.match(JSON.stringify(find(objects, 'Deployment')), /"--metrics-port=9300"/);
    assert.match(JSON.stringify(find(objects, 'Deployment')), /\{"name":"metrics","containerPort":9300\}/);
    const service = objects.find((object) => object.metadata.name === 'lifecycle-guard-metrics') as unknown as {
      spec: { ports: { port: number }[] };
    };
    assert.equal(service.spec.ports[0]?.port, 9300);
    const ingress = (find(objects, 'NetworkPolicy') as unknown as { spec: { ingress: { from: unknown[] }[] } }).spec.ingress;
    assert.deepEqual(ingress[0]?.from, [{ ipBlock: { cidr: '10.0.0.0/24' } }]);
    assert.deepEqual(ingress[1]?.from, [
      { namespaceSelector: { matchLabels: { 'lifecycle-guard.io/metrics-access': 'allowed', team: 'monitoring' } } },
    ]);
    assert.deepEqual(
      template('networkPolicy.enabled=false').filter((object) => object.kind === 'NetworkPolicy'),
      [],
    );
  });

  test('the chart serves the CRD files of manifests/crds, unchanged', () => {
    const files = readdirSync(join(CHART, 'crds-files')).sort();
    assert.deepEqual(
      files,
      readdirSync(join(MANIFESTS, 'crds'))
        .filter((file) => file !== 'kustomization.yaml')
        .sort(),
    );
    for (const file of files)
      assert.equal(readFileSync(join(CHART, 'crds-files', file), 'utf8'), readFileSync(join(MANIFESTS, 'crds', file), 'utf8'), file);
  });

  test("excludeNamespaces drives both the webhooks' namespaceSelector and the policy; the release namespace is always in", () => {
    const objects = template('excludeNamespaces={kube-system,legacy}');
    const policy = policyOf(objects);
    assert.deepEqual(policy.exclude.namespaces, ['kube-system', 'legacy', 'lifecycle-guard']);
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const webhook = (
        find(objects, kind) as unknown as { webhooks: { namespaceSelector: { matchExpressions: { values: string[] }[] } }[] }
      ).webhooks[0];
      assert.deepEqual(webhook?.namespaceSelector.matchExpressions[0]?.values, ['kube-system', 'legacy', 'lifecycle-guard'], kind);
    }
  });

  test('values: image, replicas, resources, failurePolicy, timeoutSeconds, reportFormat, inline policy', () => {
    const objects = template(
      'image.repository=registry.example/lg',
      'image.tag=1.2.3',
      'replicas=3',
      'resources.limits.memory=512Mi',
      'webhook.failurePolicy=Fail',
      'webhook.timeoutSeconds=10',
      'reportFormat=OpenReports',
      'policy.inline.mode=audit',
    );
    const deployment = find(objects, 'Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { containers: { image: string; resources: { limits: { memory: string } } }[] } } };
    };
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(deployment.spec.template.spec.containers[0]?.image, 'registry.example/lg:1.2.3');
    assert.equal(deployment.spec.template.spec.containers[0]?.resources.limits.memory, '512Mi');
    const webhook = (
      find(objects, 'ValidatingWebhookConfiguration') as unknown as { webhooks: { failurePolicy: string; timeoutSeconds: number }[] }
    ).webhooks[0];
    assert.equal(webhook?.failurePolicy, 'Fail');
    assert.equal(webhook?.timeoutSeconds, 10);
    const policy = policyOf(objects);
    assert.equal(policy.mode, 'audit');
    assert.equal(policy.scan.reportFormat, 'OpenReports');
  });

  test('policy.existingConfigMap: no ConfigMap of the chart; the webhook and its RBAC name the given one', () => {
    const objects = template('policy.existingConfigMap=team-policy');
    assert.equal(objects.filter((object) => object.kind === 'ConfigMap').length, 0);
    assert.match(JSON.stringify(find(objects, 'Deployment')), /--policy-configmap=\$\(POD_NAMESPACE\)\/team-policy"/);
    const rules = (find(objects, 'Role') as unknown as { rules: { resources: string[]; resourceNames?: string[] }[] }).rules;
    assert.deepEqual(rules.find((rule) => rule.resources.includes('configmaps'))?.resourceNames, ['team-policy']);
  });

  test('scanOnly: no webhook configurations, and serve --scan-only', () => {
    const objects = template('scanOnly=true');
    assert.deepEqual(
      objects.filter((object) => object.kind.endsWith('WebhookConfiguration')),
      [],
    );
    assert.match(JSON.stringify(find(objects, 'Deployment')), /"--scan-only"/);
    assert.doesNotMatch(templateText(), /--scan-only/);
  });

  test('bad values are refused with the value named', () => {
    for (const [set, message] of [
      ['certificates.mode=vault', /certificates\.mode must be self-managed or cert-manager, not "vault"/],
      ['reportFormat=csv', /reportFormat must be PolicyReport, OpenReports or none/],
      ['webhook.failurePolicy=Maybe', /webhook\.failurePolicy must be Ignore or Fail/],
      ['webhook.timeoutSeconds=60', /webhook\.timeoutSeconds must be between 1 and 30/],
      ['policy.inline.exclude.namespaces={a}', /set exclude\.namespaces through excludeNamespaces/],
      ['policy.inline.workloadKinds[0].kind=CloneSet', /set workloadKinds through the value workloadKinds/],
      ['policy.inline.rules.no-shell-entrypoint.images.pullSecrets=true', /pullSecrets through imageInspection\.readPullSecrets/],
      ['workloadKinds[0].kind=CloneSet', /workloadKinds\[0\]\.group is missing/],
      ['metrics.port=8443', /metrics\.port must be a port from 1 to 65535 other than the webhook's 8443/],
    ] as const) {
      const result = helm(['template', 'x', CHART, '--set', set]);
      assert.notEqual(result.code, 0, set);
      assert.match(result.stderr, message, set);
    }
  });
});

describe('helm chart: helm install into a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook | undefined;
  let certDir: string;
  const apply = (namespace: string) =>
    cluster.kubectl(['apply', '-f', '-'], { input: BAD_DEPLOYMENT.replace('namespace: apps', `namespace: ${namespace}`), allowFail: true });

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'lg-chart-certs-'));
    cluster = await startControlPlane({ users: [SERVICE_ACCOUNT_USER] });
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('helm install, then kubectl apply of a bad Deployment is denied; an excluded namespace is left alone', async () => {
    const install = helm(
      [
        'install',
        'lifecycle-guard',
        CHART,
        '--namespace',
        'lifecycle-guard',
        '--create-namespace',
        '--set',
        'excludeNamespaces={kube-system,kube-public,kube-node-lease,legacy}',
      ],
      { KUBECONFIG: cluster.kubeconfigPath },
    );
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, /STATUS: deployed/);
    for (const object of [
      'deployment/lifecycle-guard',
      'configmap/lifecycle-guard-policy',
      'validatingwebhookconfiguration/lifecycle-guard',
      'crd/policyreports.wgpolicyk8s.io',
    ]) {
      assert.equal((await cluster.kubectl(['get', object, '-n', 'lifecycle-guard'], { allowFail: true })).code, 0, object);
    }
    // No kubelet here: the chart's Deployment never runs. The same process runs locally, as the chart's ServiceAccount.
    webhook = await startWebhook(clusterModeArgs(await cluster.kubeconfigFor(SERVICE_ACCOUNT), certDir), () => join(certDir, 'ca.crt'));
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const path = kind.startsWith('mutating') ? '/mutate' : '/validate';
      const patch = [
        { op: 'remove', path: '/webhooks/0/clientConfig/service' },
        { op: 'add', path: '/webhooks/0/clientConfig/url', value: `${webhook.url}${path}` },
      ];
      await cluster.kubectl(['patch', kind, 'lifecycle-guard', '--type=json', '-p', JSON.stringify(patch)]);
    }
    await cluster.kubectl(['create', 'namespace', 'apps']);
    await cluster.kubectl(['create', 'namespace', 'legacy']);
    // failurePolicy is Ignore: only a webhook that answers (over TLS verified with the caBundle it wrote) can deny.
    await eventually(
      async () => {
        const result = await apply('apps');
        return result.code !== 0 && /denied the request: .*no-shell-entrypoint/s.test(result.stderr);
      },
      30_000,
      'a denial in apps',
    );
    const legacy = await apply('legacy');
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.doesNotMatch(legacy.stderr, /Warning/);
    assert.doesNotMatch(webhook.output(), /namespaceSelector/, 'the chart wrote one list to both places');
  });

  test('the API server accepts the chart with every optional value set (server-side dry run)', async () => {
    // Another release in its own namespace, so that nothing of the installed release is patched.
    await cluster.kubectl(['create', 'namespace', 'dry-run']);
    const values = [
      'crds.install=false',
      'imageInspection.readPullSecrets=true',
      'policy.inline.allowSkipAnnotation=false',
      'networkPolicy.webhookFrom[0].ipBlock.cidr=10.0.0.0/24',
      'metrics.port=9300',
      'workloadKinds[0].kind=CloneSet',
      'workloadKinds[0].group=apps.kruise.io',
      'workloadKinds[0].version=v1alpha1',
      'workloadKinds[0].resource=clonesets',
      'workloadKinds[0].podSpecPath=spec.template.spec',
    ];
    const rendered = helm(['template', 'lg', CHART, '--namespace', 'dry-run', ...values.flatMap((value) => ['--set', value])]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const result = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered.stdout, allowFail: true });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /networkpolicy\.networking\.k8s\.io\/lg-lifecycle-guard created \(server dry run\)/);
    assert.match(
      result.stdout,
      /clusterrole\.rbac\.authorization\.k8s\.io\/lg-lifecycle-guard-image-pull-secrets created \(server dry run\)/,
    );
    assert.match(
      result.stdout,
      /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/lg-lifecycle-guard created \(server dry run\)/,
    );
  });

  test('a namespaceSelector edited apart from the policy is reported when the policy is (re)read', async () => {
    assert.ok(webhook);
    const selector = {
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'lifecycle-guard', 'apps'] }],
    };
    await cluster.kubectl([
      'patch',
      'validatingwebhookconfiguration',
      'lifecycle-guard',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'replace', path: '/webhooks/0/namespaceSelector', value: selector }]),
    ]);
    const configMap = JSON.parse(
      (await cluster.kubectl(['get', 'configmap', 'lifecycle-guard-policy', '-n', 'lifecycle-guard', '-o', 'json'])).stdout,
    );
    const policy = `${configMap.data['policy.yaml']}allowSkipAnnotation: false\n`;
    await cluster.kubectl([
      'patch',
      'configmap',
      'lifecycle-guard-policy',
      '-n',
      'lifecycle-guard',
      '--type=merge',
      '-p',
      JSON.stringify({ data: { 'policy.yaml': policy } }),
    ]);
    await eventually(
      () =>
        Promise.resolve(
          /the namespaceSelector of ValidatingWebhookConfiguration lifecycle-guard excludes apps, which the policy's exclude\.namespaces does not/.test(
            webhook?.output() ?? '',
          ),
        ),
      20_000,
      'the warning',
    );
  });
});
