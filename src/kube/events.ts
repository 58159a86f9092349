import type { V1ObjectReference } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';

/** Records a Kubernetes Event on an object, so `kubectl describe` shows what the webhook did with it. */
export async function recordEvent(
  core: Pick<KubeClients['core'], 'createNamespacedEvent'>,
  involved: Required<Pick<V1ObjectReference, 'apiVersion' | 'kind' | 'name' | 'namespace'>> & { uid?: string },
  event: { type: 'Normal' | 'Warning'; reason: string; message: string },
): Promise<void> {
  const now = new Date();
  await core.createNamespacedEvent({
    namespace: involved.namespace,
    body: {
      metadata: { generateName: `${involved.name}.`, namespace: involved.namespace },
      involvedObject: involved,
      type: event.type,
      reason: event.reason,
      message: event.message.slice(0, 1024),
      source: { component: 'lifecycle-guard' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    },
  });
}
