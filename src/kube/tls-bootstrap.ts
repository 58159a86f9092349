import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  CERTIFICATE_FILES,
  certificatePaths,
  generateCertificatesInChildProcess,
  needsRenewal,
  serviceHosts,
  writeCertificates,
  type KeyPair,
} from '../tls/certificates.js';
import { isStatus, type KubeClients } from './client.js';

export interface TlsBootstrapOptions {
  namespace: string;
  secretName: string;
  /** The Service in front of the webhook: the certificate covers its DNS names. */
  serviceName: string;
  mutatingWebhook: string;
  validatingWebhook: string;
  /** Where the serving pair is written for the server, which reloads it when it changes. */
  certDir: string;
  /** Lifetime of serving certificates; the CA lives twice as long. */
  validityMs: number;
  /** More names the certificate must cover, for a webhook reached by URL (e.g. 127.0.0.1). */
  extraHosts?: readonly string[];
  /** Wait after adding a new CA to caBundle before serving certificates it signed (API servers reload it asynchronously). */
  trustPropagationMs?: number;
  logger: Logger;
}

/** What the Secret holds: a kubernetes.io/tls Secret with the CA bundle and the CA's key beside it. */
interface StoredCertificates {
  /** Current CA first, then older CAs that are still valid (the overlap during a rotation). */
  caBundle: string;
  caKey: string;
  serving: KeyPair;
}

/** The Secret's keys are the file names the server reads (as in any kubernetes.io/tls Secret), plus the CA's key. */
const SECRET_KEYS = { ...CERTIFICATE_FILES, caKey: 'ca.key' } as const;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** The certificates of a PEM bundle, each ending in one newline (so equal certificates compare equal). */
function splitBundle(bundle: string): string[] {
  return (bundle.match(PEM_CERTIFICATE) ?? []).map((pem) => `${pem.trim()}\n`);
}

function joinBundle(pems: readonly string[]): string {
  return pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');
}

function decode(secret: V1Secret, key: string): string {
  const value = secret.data?.[key];
  return value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8');
}

function fromSecret(secret: V1Secret): StoredCertificates {
  return {
    caBundle: decode(secret, SECRET_KEYS.ca),
    caKey: decode(secret, SECRET_KEYS.caKey),
    serving: { cert: decode(secret, SECRET_KEYS.cert), key: decode(secret, SECRET_KEYS.key) },
  };
}

function toSecretData(stored: StoredCertificates): Record<string, string> {
  const encode = (text: string) => Buffer.from(text).toString('base64');
  return {
    [SECRET_KEYS.ca]: encode(stored.caBundle),
    [SECRET_KEYS.caKey]: encode(stored.caKey),
    [SECRET_KEYS.cert]: encode(stored.serving.cert),
    [SECRET_KEYS.key]: encode(stored.serving.key),
  };
}

function isExpired(pem: string, now: Date): boolean {
  return new Date(new X509Certificate(pem).validTo).getTime() <= now.getTime();
}

/** Why the stored certificates must be replaced, or undefined while they are good. */
function renewalReason(stored: StoredCertificates, hosts: readonly string[]): 'ca' | 'serving' | undefined {
  try {
    const [currentCa] = splitBundle(stored.caBundle);
    if (currentCa === undefined || stored.caKey === '' || needsRenewal(currentCa)) return 'ca';
    const serving = new X509Certificate(stored.serving.cert);
    const issuedByCurrentCa = serving.verify(new X509Certificate(currentCa).publicKey);
    const coversHosts = hosts.every((host) => (isIP(host) ? serving.checkIP(host) : serving.checkHost(host)) !== undefined);
    if (!issuedByCurrentCa || !coversHosts || needsRenewal(stored.serving.cert)) return 'serving';
    return undefined;
  } catch {
    return 'ca'; // unreadable: start over
  }
}

/**
 * Keeps the webhook's TLS in a Secret that every replica shares: creates it when absent, renews
 * the serving certificate (and the CA) when a third of its lifetime is left, keeps the previous CA
 * in caBundle while certificates it signed may still be served, and writes caBundle into both
 * webhook configurations before any replica serves a certificate signed by a new CA.
 */
export class TlsBootstrap {
  readonly #clients: KubeClients;
  readonly #options: TlsBootstrapOptions;
  #written = '';

  constructor(clients: KubeClients, options: TlsBootstrapOptions) {
    this.#clients = clients;
    this.#options = options;
  }

  get hosts(): string[] {
    const { serviceName, namespace } = this.#options;
    return [...serviceHosts(serviceName, namespace), ...(this.#options.extraHosts ?? [])];
  }

  get files() {
    return certificatePaths(this.#options.certDir);
  }

  async #readSecret(): Promise<V1Secret | undefined> {
    try {
      return await this.#clients.core.readNamespacedSecret({ name: this.#options.secretName, namespace: this.#options.namespace });
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async #issue(previous: StoredCertificates | undefined, reason: 'ca' | 'serving'): Promise<StoredCertificates> {
    const validityDays = this.#options.validityMs / 86_400_000;
    const now = new Date();
    if (reason === 'serving' && previous !== undefined) {
      const [currentCa = ''] = splitBundle(previous.caBundle);
      const bundle = await generateCertificatesInChildProcess({
        hosts: this.hosts,
        validityDays,
        ca: { cert: currentCa, key: previous.caKey },
      });
      return { ...previous, serving: bundle.serving };
    }
    const bundle = await generateCertificatesInChildProcess({ hosts: this.hosts, validityDays });
    const stillTrusted = previous === undefined ? [] : splitBundle(previous.caBundle).filter((pem) => !isExpired(pem, now));
    return { caBundle: joinBundle([bundle.ca.cert, ...stillTrusted]), caKey: bundle.ca.key, serving: bundle.serving };
  }

  /** Makes sure the Secret, caBundle and local files are current. Safe to call from every replica at once. */
  async reconcile(): Promise<void> {
    const { namespace, secretName, logger } = this.#options;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const secret = await this.#readSecret();
      const stored = secret === undefined ? undefined : fromSecret(secret);
      const reason = stored === undefined ? 'ca' : renewalReason(stored, this.hosts);
      if (stored !== undefined && reason === undefined) {
        const pruned = splitBundle(stored.caBundle).filter((pem, index) => index === 0 || !isExpired(pem, new Date()));
        await this.#publish({ ...stored, caBundle: joinBundle(pruned) });
        return;
      }
      const next = await this.#issue(stored, reason ?? 'ca');
      // Trust first, serve second: caBundle gets the new CA before any replica can present it. It is
      // added to what the configurations trust, so a replica rotating at the same moment cannot
      // remove the winner's CA; publishing the Secret's bundle later drops the loser's.
      const trustChanged = await this.#patchCaBundle(next.caBundle, 'add');
      if (trustChanged && stored !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, this.#options.trustPropagationMs ?? 5000));
      }
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/tls',
        metadata: {
          name: secretName,
          namespace,
          labels: { 'app.kubernetes.io/name': 'lifecycle-guard' },
          ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
        },
        data: toSecretData(next),
      };
      try {
        if (secret === undefined) await this.#clients.core.createNamespacedSecret({ namespace, body });
        else await this.#clients.core.replaceNamespacedSecret({ name: secretName, namespace, body });
        logger.info({ secret: `${namespace}/${secretName}`, renewed: reason ?? 'ca' }, 'TLS certificates stored');
      } catch (error) {
        // Another replica got there first: read its Secret back and use that.
        if (isStatus(error, 409)) continue;
        throw error;
      }
    }
    throw new Error(`could not settle the TLS Secret ${namespace}/${secretName} after 5 attempts`);
  }

  async #publish(stored: StoredCertificates): Promise<void> {
    await this.#patchCaBundle(stored.caBundle);
    const fingerprint = stored.caBundle + stored.serving.cert;
    if (fingerprint === this.#written) return;
    writeCertificates(this.#options.certDir, { ca: { cert: stored.caBundle, key: '' }, serving: stored.serving });
    this.#written = fingerprint;
  }

  /**
   * Sets caBundle on every webhook of both configurations to the bundle (`set`), or to the bundle
   * plus the unexpired CAs already there (`add`); true when anything changed.
   */
  async #patchCaBundle(caBundle: string, mode: 'set' | 'add' = 'set'): Promise<boolean> {
    const bundleFor = (current: string | undefined) => {
      if (mode === 'set') return caBundle;
      const existing = splitBundle(Buffer.from(current ?? '', 'base64').toString()).filter((pem) => !isExpired(pem, new Date()));
      return joinBundle([...new Set([...splitBundle(caBundle), ...existing])]);
    };
    const { mutatingWebhook, validatingWebhook, logger } = this.#options;
    const targets = [
      {
        name: mutatingWebhook,
        read: (name: string) => this.#clients.admission.readMutatingWebhookConfiguration({ name }),
        patch: (name: string, body: object[]) => this.#clients.admission.patchMutatingWebhookConfiguration({ name, body }),
      },
      {
        name: validatingWebhook,
        read: (name: string) => this.#clients.admission.readValidatingWebhookConfiguration({ name }),
        patch: (name: string, body: object[]) => this.#clients.admission.patchValidatingWebhookConfiguration({ name, body }),
      },
    ];
    let changed = false;
    for (const target of targets) {
      for (let attempt = 1; ; attempt += 1) {
        let configuration;
        try {
          configuration = await target.read(target.name);
        } catch (error) {
          if (!isStatus(error, 404)) throw error;
          logger.warn({ configuration: target.name }, 'webhook configuration not found; caBundle not set');
          break;
        }
        const webhooks = configuration.webhooks ?? [];
        const operations = webhooks.flatMap((webhook, index) => {
          const encoded = Buffer.from(bundleFor(webhook.clientConfig.caBundle)).toString('base64');
          return webhook.clientConfig.caBundle === encoded
            ? []
            : [{ op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: encoded }];
        });
        if (operations.length === 0) break;
        try {
          // The test guards against a concurrent change of the list between read and patch.
          await target.patch(target.name, [
            { op: 'test', path: '/metadata/resourceVersion', value: configuration.metadata?.resourceVersion },
            ...operations,
          ]);
        } catch (error) {
          // A failed test is 422: another replica changed the configuration in between; read it again.
          if (isStatus(error, 422) && attempt < 5) continue;
          throw error;
        }
        logger.info({ configuration: target.name, webhooks: operations.length }, 'caBundle updated');
        changed = true;
        break;
      }
    }
    return changed;
  }
}
