// The review mix every admission benchmark sends: what the API server sends a webhook during ordinary
// deploys. Pods and Deployments (group apps, as the API server sends them), compliant and violating,
// CREATE and UPDATE (with oldObject), to /validate and to /mutate.

type Json = Record<string, unknown>;

function container(name: string, compliant: boolean, index: number): Json {
  return {
    name,
    image: `registry.example.com/shop/${name}:1.${index}`,
    ...(compliant ? { command: ['/app/server', '--port', '8080'] } : { command: ['sh', '-c', '/app/server --port 8080'] }),
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    env: Array.from({ length: 8 }, (_, envIndex) => ({ name: `SETTING_${envIndex}`, value: `value-${envIndex}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    ...(compliant
      ? {
          readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: '/live', port: 8080 }, periodSeconds: 10 },
          lifecycle: { preStop: { sleep: { seconds: 5 } } },
          terminationMessagePolicy: 'FallbackToLogsOnError',
        }
      : {}),
    volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
  };
}

function podSpec(compliant: boolean, index: number): Json {
  return {
    containers: [container('web', compliant, index), container('metrics', true, index)],
    volumes: [{ name: 'config', configMap: { name: 'web-config' } }],
    serviceAccountName: 'web',
    terminationGracePeriodSeconds: 30,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
  };
}

/** A Pod or Deployment as a team would write it; `compliant: false` runs `sh -c` as PID 1 and has no probes. */
export function workload(kind: 'Pod' | 'Deployment', compliant: boolean, index: number): Json {
  const name = `web-${compliant ? 'ok' : 'bad'}-${index}`;
  const labels = { app: name, 'app.kubernetes.io/part-of': 'shop' };
  const metadata = { name, namespace: 'shop', labels, annotations: { 'example.com/owner': 'team-shop' } };
  if (kind === 'Pod') return { apiVersion: 'v1', kind, metadata, spec: podSpec(compliant, index) };
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata,
    spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec(compliant, index) } },
  };
}

/** `paths`: where the webhook under test serves the two endpoints (Kyverno: /validate/fail, /mutate/fail). */
export function reviewMix(
  paths: { validate: string; mutate: string } = { validate: '/validate', mutate: '/mutate' },
): Array<{ path: string; body: string }> {
  const requests: Array<{ path: string; body: string }> = [];
  let uid = 0;
  for (const kind of ['Pod', 'Deployment'] as const) {
    for (const compliant of [true, false]) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        // A Pod's spec cannot change on UPDATE; the API server still sends reviews for label/annotation updates.
        const object = workload(kind, compliant, uid);
        const oldObject = operation === 'UPDATE' ? workload(kind, compliant, uid) : null;
        for (const endpoint of ['validate', 'mutate'] as const) {
          uid += 1;
          const group = kind === 'Deployment' ? 'apps' : '';
          const version = 'v1';
          const resource = kind === 'Deployment' ? 'deployments' : 'pods';
          const review = {
            apiVersion: 'admission.k8s.io/v1',
            kind: 'AdmissionReview',
            request: {
              uid: `00000000-0000-4000-8000-${String(uid).padStart(12, '0')}`,
              kind: { group, version, kind },
              resource: { group, version, resource },
              requestKind: { group, version, kind },
              requestResource: { group, version, resource },
              name: (object.metadata as Json).name,
              namespace: 'shop',
              operation,
              userInfo: {
                username: 'system:serviceaccount:ci:deployer',
                uid: 'u-1',
                groups: ['system:serviceaccounts', 'system:authenticated'],
              },
              object,
              oldObject,
              dryRun: false,
              options:
                operation === 'CREATE'
                  ? { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' }
                  : { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
            },
          };
          requests.push({ path: paths[endpoint], body: JSON.stringify(review) });
        }
      }
    }
  }
  return requests;
}
