// Kinds beyond the core ones behind a real kube-apiserver: Argo Rollouts' Rollout (built in, and in the
// project's webhook registration) and OpenKruise's CloneSet (added by the policy, registered the way
// docs/workload-kinds.md says). Both CRDs are installed here with an open schema.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { wrap } from '../helpers/workloads.js';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { eventually, startWebhook, webhookConfigurations, type Webhook } from './harness/webhook.js';

function crd(group: string, kind: string, plural: string, version: string) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** The rule docs/workload-kinds.md tells users to add to both webhooks for an added kind. */
const CLONESET_RULE = {
  apiGroups: ['apps.kruise.io'],
  apiVersions: ['*'],
  operations: ['CREATE', 'UPDATE'],
  resources: ['clonesets'],
  scope: 'Namespaced',
};

const shellPodSpec = {
  containers: [
    { name: 'app', image: 'nginx', command: ['sh', '-c', 'envsubst < /t > /c; nginx'], readinessProbe: { tcpSocket: { port: 80 } } },
  ],
};

describe('Rollouts and policy-added kinds behind a real kube-apiserver', () => {
  let cluster: ControlPlane;
  let webhook: Webhook | undefined;
  let dir: string;
  const kubectl = (args: string[], input?: string) => cluster.kubectl(args, { allowFail: true, ...(input === undefined ? {} : { input }) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-e2e-kinds-'));
    cluster = await startControlPlane();
    await cluster.kubectl(['create', 'namespace', 'apps']);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: [crd('argoproj.io', 'Rollout', 'rollouts', 'v1alpha1'), crd('apps.kruise.io', 'CloneSet', 'clonesets', 'v1alpha1')]
        .map((item) => stringify(item))
        .join('---\n'),
    });
    await cluster.kubectl([
      'wait',
      '--for=condition=Established',
      'crd/rollouts.argoproj.io',
      'crd/clonesets.apps.kruise.io',
      '--timeout=60s',
    ]);
    writeFileSync(
      join(dir, 'policy.yaml'),
      'workloadKinds:\n- {kind: CloneSet, group: apps.kruise.io, version: v1alpha1, resource: clonesets, podSpecPath: spec.template.spec}\n',
    );
    webhook = await startWebhook(['--cert-dir', dir, '--policy', join(dir, 'policy.yaml'), '--shutdown-delay', '0'], () =>
      join(dir, 'ca.crt'),
    );
    const configurations = parseAllDocuments(webhookConfigurations(webhook.url, readFileSync(join(dir, 'ca.crt'), 'utf8'))).map(
      (document) => {
        const configuration = document.toJS() as { webhooks: { rules: unknown[] }[] };
        for (const entry of configuration.webhooks) entry.rules.push(CLONESET_RULE);
        return stringify(configuration);
      },
    );
    await cluster.kubectl(['apply', '-f', '-'], { input: configurations.join('---\n') });
  });

  after(async () => {
    await webhook?.stop('SIGKILL');
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a Rollout that runs a shell as PID 1 is denied by the project's own registration", async () => {
    const rollout = stringify({ ...wrap('Rollout', shellPodSpec, { name: 'api', namespace: 'apps' }), apiVersion: 'argoproj.io/v1alpha1' });
    await eventually(
      async () => (await kubectl(['apply', '--dry-run=server', '-f', '-'], rollout)).stderr.includes('denied the request'),
      30_000,
      'the Rollout to be denied',
    );
    const result = await kubectl(['apply', '-f', '-'], rollout);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Rollout apps\/api violates 1 lifecycle rule\(s\):\n\[no-shell-entrypoint\] container "app"/);
    assert.match(result.stderr, /Docs: https:\/\/\S+\/no-shell-entrypoint\.md/);
  });

  test('a CloneSet, added by the policy and registered as documented, is denied; fixed, it is created', async () => {
    const cloneSet = (command: string[]) =>
      stringify({
        ...wrap('CloneSet', { containers: [{ ...shellPodSpec.containers[0], command }] }, { name: 'web', namespace: 'apps' }),
        apiVersion: 'apps.kruise.io/v1alpha1',
      });
    const denied = await kubectl(['apply', '-f', '-'], cloneSet(['sh', '-c', 'envsubst < /t > /c; nginx']));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /CloneSet apps\/web violates 1 lifecycle rule\(s\)/);
    const created = await kubectl(['apply', '-f', '-'], cloneSet(['sh', '-c', 'envsubst < /t > /c && exec nginx']));
    assert.equal(created.code, 0, created.stderr);
  });
});
