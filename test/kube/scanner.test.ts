// The scan against a fake API server on loopback: discovery and list endpoints for the kinds it serves,
// 404 for an API that is not installed.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { policyFromObject } from '../../src/engine/policy.js';
import type { Selection } from '../../src/engine/select.js';
import { loopbackClients } from './loopback-clients.js';
import { buildReports } from '../../src/kube/reports.js';
import { scanCluster } from '../../src/kube/scanner.js';
import { wrap } from '../helpers/workloads.js';

const shell = { containers: [{ name: 'app', image: 'x', command: ['sh', '-c', 'setup; run'] }] };
const cloneSet = { ...wrap('CloneSet', shell, { name: 'web', namespace: 'shop', uid: 'c1' }), apiVersion: 'apps.kruise.io/v1alpha1' };
const ownedPod = wrap('Pod', shell, {
  name: 'web-abc',
  namespace: 'shop',
  ownerReferences: [{ apiVersion: 'apps.kruise.io/v1alpha1', kind: 'CloneSet', name: 'web', uid: 'c1', controller: true }],
});
const sandboxPod = wrap('Pod', shell, { name: 'toy', namespace: 'play' });

/** group/version → served resources, each with its objects. */
const SERVED: Record<string, { name: string; kind: string; items: unknown[] }[]> = {
  'api/v1': [
    { name: 'pods', kind: 'Pod', items: [ownedPod, sandboxPod] },
    { name: 'replicationcontrollers', kind: 'ReplicationController', items: [] },
    { name: 'namespaces', kind: 'Namespace', items: [] },
  ],
  'apis/apps/v1': ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind) => ({
    name: `${kind.toLowerCase()}s`,
    kind,
    items: [],
  })),
  'apis/batch/v1': ['Job', 'CronJob'].map((kind) => ({ name: `${kind.toLowerCase()}s`, kind, items: [] })),
  'apis/apps.kruise.io/v1alpha1': [{ name: 'clonesets', kind: 'CloneSet', items: [cloneSet] }],
};
const NAMESPACES = [{ metadata: { name: 'shop', labels: {} } }, { metadata: { name: 'play', labels: { env: 'sandbox' } } }];

describe('scanCluster against a fake API server', () => {
  let server: Server;
  const requested: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\//, '');
      requested.push(path);
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (path === 'api/v1/namespaces') return json(200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: NAMESPACES });
      const groupVersion = Object.keys(SERVED).find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
      if (groupVersion === undefined)
        return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' });
      const resources = SERVED[groupVersion] ?? [];
      if (path === groupVersion) {
        return json(200, {
          kind: 'APIResourceList',
          groupVersion: groupVersion.replace(/^apis?\//, ''),
          resources: resources.map(({ name, kind }) => ({
            name,
            kind,
            namespaced: name !== 'namespaces',
            singularName: '',
            verbs: ['list'],
          })),
        });
      }
      const resource = resources.find(({ name }) => path === `${groupVersion}/${name}`);
      if (resource === undefined) return json(404, { kind: 'Status', code: 404 });
      return json(200, { kind: `${resource.kind}List`, metadata: {}, items: resource.items });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clients = () => loopbackClients(server);

  test('an added kind is scanned, its owned Pods are not, uninstalled APIs are skipped, exceptions use namespace labels', async () => {
    const policy = policyFromObject(
      {
        rules: {
          'inject-prestop-delay': { mode: 'off' },
          'termination-message-fallback': { mode: 'off' },
          'require-readiness-probe': { mode: 'off' },
        },
        workloadKinds: [
          { kind: 'CloneSet', group: 'apps.kruise.io', version: 'v1alpha1', resource: 'clonesets', podSpecPath: 'spec.template.spec' },
        ],
        exceptions: [{ rules: ['all'], namespaceSelector: { matchLabels: { env: 'sandbox' } }, reason: 'sandbox' }],
      },
      'p',
    );
    // The image lookup gets the rules the evaluation uses: none for the Pod the namespace's exception frees.
    const selected: [string, string[]][] = [];
    const inspectImages = (object: unknown, _namespace: string | undefined, selection: Selection) => {
      selected.push([(object as { metadata: { name: string } }).metadata.name, selection.rules.map(({ rule }) => rule.meta.id)]);
      return Promise.resolve(new Map());
    };
    const report = await scanCluster(clients(), { policy, inspectImages });
    assert.deepEqual(
      report.findings.map(({ kind, namespace, name, rule }) => [kind, namespace, name, rule]),
      [['CloneSet', 'shop', 'web', 'no-shell-entrypoint']],
    );
    assert.deepEqual(selected.sort(), [
      ['toy', []],
      ['web', ['no-shell-entrypoint']],
    ]);
    assert.equal(report.summary.objects, 2, "the CloneSet and the sandbox Pod; the owned Pod is its CloneSet's");
    assert.deepEqual(
      report.exceptions?.map(({ reason, objects, expired }) => [reason, objects, expired]),
      [['sandbox', 1, false]],
    );
    // In the PolicyReport of its namespace, the excepted rule is a `skip` result naming the exception.
    const play = buildReports(report, 'PolicyReport').find((item) => (item.metadata as { namespace: string }).namespace === 'play') as {
      summary: { skip: number };
      results: { result: string; rule: string; message: string; properties: Record<string, string> }[];
    };
    assert.equal(play.summary.skip, 1);
    assert.deepEqual(
      play.results.map(({ result, rule, properties }) => [result, rule, properties]),
      [['skip', 'no-shell-entrypoint', { exception: '1', reason: 'sandbox' }]],
    );
    assert.match(play.results[0]?.message ?? '', /excepted by the policy: exception #1 \(all\): sandbox/);
    // Argo Rollouts and OpenShift are not installed here: asked once by discovery, then skipped.
    assert.ok(requested.includes('apis/argoproj.io/v1alpha1'));
    assert.ok(requested.includes('apis/apps.openshift.io/v1'));
  });

  test('a built-in kind the cluster does not serve is an error, not a silent gap', async () => {
    const saved = SERVED['apis/batch/v1'];
    delete SERVED['apis/batch/v1'];
    try {
      await assert.rejects(scanCluster(clients(), { policy: policyFromObject({}, 'p') }), /CronJob|batch/);
    } finally {
      SERVED['apis/batch/v1'] = saved!;
    }
  });
});
