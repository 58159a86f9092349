import { join } from 'node:path';
import type { UserSpec } from './control-plane.js';

export const MANIFESTS_BASE = join(import.meta.dirname, '..', '..', '..', 'manifests', 'base');

/** The webhook's ServiceAccount as a token user: RBAC bindings to the ServiceAccount apply to it. */
export const SERVICE_ACCOUNT = 'system:serviceaccount:lifecycle-guard:lifecycle-guard';
export const SERVICE_ACCOUNT_USER: UserSpec = {
  name: SERVICE_ACCOUNT,
  groups: ['system:serviceaccounts', 'system:serviceaccounts:lifecycle-guard', 'system:authenticated'],
};

/** A Deployment in `apps` that runs `sh -c` as PID 1 and has no readiness probe. */
export const BAD_DEPLOYMENT = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: apps}
spec:
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers:
        - name: web
          image: nginx
          command: ["sh", "-c", "nginx -g 'daemon off;'"]
`;

export function policyConfigMap(policy: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard' },
    data: { 'policy.yaml': policy },
  });
}

/** `serve` flags for cluster mode as the manifests set them, with the certificate valid for the local URL. */
export function clusterModeArgs(kubeconfig: string, certDir: string): string[] {
  return [
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    'lifecycle-guard',
    '--tls-secret',
    'lifecycle-guard-tls',
    '--policy-configmap',
    'lifecycle-guard/lifecycle-guard-policy',
    '--cert-dir',
    certDir,
    '--cert-extra-hosts',
    '127.0.0.1,localhost',
    '--shutdown-delay',
    '0',
  ];
}
