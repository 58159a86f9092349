// Smoke test of the e2e infrastructure itself: a real etcd + kube-apiserver,
// driven by the real (built) kubectl.
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { after, before, test } from 'node:test';
import { generate } from 'selfsigned';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';

let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane({ users: [{ name: 'e2e-viewer', groups: ['e2e:viewers'] }] });
});

after(async () => {
  await cp?.stop();
});

test('kubectl get namespaces lists the system namespaces', async () => {
  const { stdout } = await cp.kubectl(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}']);
  const names = stdout.trim().split(/\s+/);
  for (const ns of ['default', 'kube-system', 'kube-public']) assert.ok(names.includes(ns), `missing ${ns} in ${stdout}`);
});

test('create namespace demo gets the kubernetes.io/metadata.name label', async () => {
  await cp.kubectl(['create', 'namespace', 'demo']);
  const { stdout } = await cp.kubectl(['get', 'namespace', 'demo', '-o', 'json']);
  const ns = JSON.parse(stdout) as { metadata: { labels?: Record<string, string> } };
  assert.equal(ns.metadata.labels?.['kubernetes.io/metadata.name'], 'demo');
});

test('kubectl apply -f - stores a ConfigMap that reads back', async () => {
  const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: smoke
  namespace: demo
data:
  greeting: hello
`;
  const applied = await cp.kubectl(['apply', '-f', '-'], { input: manifest });
  assert.match(applied.stdout, /configmap\/smoke (created|configured)/);
  const { stdout } = await cp.kubectl(['get', 'configmap', 'smoke', '-n', 'demo', '-o', 'jsonpath={.data.greeting}']);
  assert.equal(stdout, 'hello');
});

test('RBAC is enforced for token users and impersonation works for the admin', async () => {
  const kc = await cp.kubeconfigFor('e2e-viewer');
  const denied = await cp.kubectl(['get', 'configmaps', '-n', 'demo'], { kubeconfigPath: kc, allowFail: true });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);

  const sa = 'system:serviceaccount:demo:robot';
  const can = await cp.kubectl(['auth', 'can-i', 'create', 'deployments', '-n', 'demo', `--as=${sa}`], { allowFail: true });
  assert.equal(can.stdout.trim(), 'no');
  // Not --clusterrole=edit: admin/edit/view are aggregated ClusterRoles whose rules are
  // filled in by kube-controller-manager, which this control plane does not run.
  await cp.kubectl(['create', 'role', 'deployer', '-n', 'demo', '--verb=create,get', '--resource=deployments.apps']);
  await cp.kubectl(['create', 'rolebinding', 'robot-deployer', '-n', 'demo', '--role=deployer', '--serviceaccount=demo:robot']);
  // The RBAC authorizer works from an informer cache: new bindings apply after a short delay.
  let answer = '';
  for (let i = 0; i < 50 && answer !== 'yes'; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    const r = await cp.kubectl(['auth', 'can-i', 'create', 'deployments', '-n', 'demo', `--as=${sa}`], { allowFail: true });
    answer = r.stdout.trim();
  }
  assert.equal(answer, 'yes');
});

test('Deployments and Pods are accepted (stored, never run: no controllers)', async () => {
  await cp.kubectl(['create', 'deployment', 'web', '-n', 'demo', '--image=registry.invalid/web:1']);
  await cp.kubectl(['run', 'solo', '-n', 'demo', '--image=registry.invalid/solo:1', '--restart=Never']);
  const { stdout } = await cp.kubectl(['get', 'pod', 'solo', '-n', 'demo', '-o', 'jsonpath={.status.phase}']);
  assert.equal(stdout, 'Pending');
});

test('the apiserver calls a mutating admission webhook served on 127.0.0.1 (clientConfig.url)', async () => {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  let calls = 0;
  const server = createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls++;
      const review = JSON.parse(body) as { request: { uid: string } };
      const patch = [{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }];
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const addr = server.address();
    assert.ok(addr && typeof addr === 'object');
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'smoke-webhook' },
      webhooks: [
        {
          name: 'smoke.e2e.lifecycle-guard.test',
          clientConfig: { url: `https://127.0.0.1:${addr.port}/mutate`, caBundle: Buffer.from(pems.cert).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } },
          objectSelector: { matchLabels: { smoke: 'webhook' } },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          failurePolicy: 'Fail',
          timeoutSeconds: 5,
        },
      ],
    };
    await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(config) });
    const cm = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'hooked', namespace: 'demo', labels: { smoke: 'webhook' } },
      data: { a: 'b' },
    };
    await cp.kubectl(['create', '-f', '-'], { input: JSON.stringify(cm) });
    const { stdout } = await cp.kubectl(['get', 'configmap', 'hooked', '-n', 'demo', '-o', 'jsonpath={.metadata.labels.mutated}']);
    assert.equal(stdout, 'yes');
    assert.ok(calls >= 1);
  } finally {
    await cp.kubectl(['delete', 'mutatingwebhookconfiguration', 'smoke-webhook', '--ignore-not-found']);
    await new Promise<void>((r) => server.close(() => r()));
  }
});
