import type { Logger } from 'pino';
import type { KubeClients } from './client.js';

interface SelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

interface WebhookConfiguration {
  webhooks?: { name?: string; namespaceSelector?: { matchExpressions?: SelectorRequirement[] } }[];
}

/** Namespaces a webhook's namespaceSelector keeps from it by name (`kubernetes.io/metadata.name NotIn [...]`). */
export function namespacesExcludedBySelector(configuration: WebhookConfiguration): string[] {
  return (configuration.webhooks ?? []).flatMap((webhook) =>
    (webhook.namespaceSelector?.matchExpressions ?? [])
      .filter((requirement) => requirement.key === 'kubernetes.io/metadata.name' && requirement.operator === 'NotIn')
      .flatMap((requirement) => requirement.values ?? []),
  );
}

/**
 * Namespaces the selector hides from the webhook although the policy would check them. The API
 * server applies the selector first, so there the policy cannot take effect; the other way round
 * (the policy excluding more) is harmless.
 */
export function hiddenFromPolicy(selectorExcluded: readonly string[], policyExcluded: readonly string[]): string[] {
  return [...new Set(selectorExcluded)].filter((namespace) => !policyExcluded.includes(namespace)).sort();
}

/** Logs a warning when a webhook configuration's namespaceSelector disagrees with the policy's exclude.namespaces. */
export async function warnOnSelectorMismatch(
  clients: KubeClients,
  names: { mutating: string; validating: string },
  policyExcluded: readonly string[],
  logger: Logger,
): Promise<void> {
  const reads = [
    ['MutatingWebhookConfiguration', names.mutating, () => clients.admission.readMutatingWebhookConfiguration({ name: names.mutating })],
    [
      'ValidatingWebhookConfiguration',
      names.validating,
      () => clients.admission.readValidatingWebhookConfiguration({ name: names.validating }),
    ],
  ] as const;
  for (const [kind, name, read] of reads) {
    let configuration: WebhookConfiguration;
    try {
      configuration = await read();
    } catch {
      continue; // not installed, or not readable: nothing to compare
    }
    const hidden = hiddenFromPolicy(namespacesExcludedBySelector(configuration), policyExcluded);
    if (hidden.length > 0) {
      logger.warn(
        { configuration: `${kind}/${name}`, namespaces: hidden },
        `the namespaceSelector of ${kind} ${name} excludes ${hidden.join(', ')}, which the policy's exclude.namespaces does not: ` +
          'the API server never sends those namespaces to the webhook, so the policy cannot check them; change both lists (docs/install.md)',
      );
    }
  }
}
