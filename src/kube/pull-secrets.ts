import { asObjectArray, asString, type JsonObject } from '../core/types.js';
import type { KubeClients } from './client.js';

/**
 * The docker configs (`.dockerconfigjson`, or a legacy `.dockercfg`) of the Secrets a pod spec names in
 * `imagePullSecrets`. Needs `get` on Secrets (opt-in: manifests/components/image-pull-secrets). A Pod
 * already carries its ServiceAccount's pull secrets (the API server adds them before webhooks run); a
 * workload's template does not, and the ServiceAccount is not read. A Secret that cannot be read is skipped.
 */
export async function readPullSecrets(clients: KubeClients, namespace: string, podSpec: JsonObject): Promise<string[]> {
  const names = [...new Set(asObjectArray(podSpec.imagePullSecrets).flatMap((reference) => asString(reference.name) ?? []))];
  const configs = await Promise.all(
    names.map(async (name) => {
      try {
        const secret = await clients.core.readNamespacedSecret({ name, namespace });
        const encoded = secret.data?.['.dockerconfigjson'] ?? secret.data?.['.dockercfg'];
        return encoded === undefined ? [] : [Buffer.from(encoded, 'base64').toString('utf8')];
      } catch {
        return [];
      }
    }),
  );
  return configs.flat();
}
