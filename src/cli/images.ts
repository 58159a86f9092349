import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ImageFacts } from '../core/images.js';
import { describeWorkload } from '../core/workload.js';
import type { Policy } from '../engine/policy.js';
import type { Selection } from '../engine/select.js';
import { podBearingKinds } from '../engine/workload-kinds.js';
import { CredentialsError, parseDockerConfig, readDockerConfig, type Credentials } from '../images/auth.js';
import { imageSettings, imagesToInspect, ImageInspector, objectImagesToInspect } from '../images/inspector.js';
import type { RegistryMetrics } from '../images/metrics.js';
import type { KubeClients } from '../kube/client.js';
import { readPullSecrets } from '../kube/pull-secrets.js';
import type { ImageLookup, LookUpImages } from '../server/admission/images.js';
import type { AdmissionRequest } from '../server/admission/review.js';
import { InputError } from './input-error.js';

/** How long the background scan waits for one object's images: nobody waits for its answer. */
const SCAN_BUDGET_MS = 15_000;
/** `check --inspect-images` looks every image of a run up at once, with this budget. */
const CHECK_BUDGET_MS = 30_000;

export const DEFAULT_REGISTRY_CONFIG = join(homedir(), '.docker', 'config.json');

/** The CLI's docker config: one named with --registry-config must be readable (bad input otherwise); the default may be missing. */
export function registryConfigFile(path: string | undefined): string {
  try {
    readDockerConfig(path ?? DEFAULT_REGISTRY_CONFIG, path === undefined);
  } catch (error) {
    if (error instanceof CredentialsError) throw new InputError(error.message);
    throw error;
  }
  return path ?? DEFAULT_REGISTRY_CONFIG;
}

/** The images `check --inspect-images` looks up for an object; undefined when the policy inspects none. */
export function manifestImagesOf(policy: Policy): ((object: unknown) => string[]) | undefined {
  return imageSettings(policy).inspect ? (object) => objectImagesToInspect(object, policy) : undefined;
}

/**
 * Image configs for `check --inspect-images`, looked up together: every image whose container sets no
 * `command` (see manifestImagesOf), and the external base images whose ENTRYPOINT/CMD decide a Dockerfile's PID 1.
 */
export async function inspectManifestImages(
  images: readonly string[],
  policy: Policy,
  registryConfig: string | undefined,
): Promise<ImageFacts | undefined> {
  const settings = imageSettings(policy);
  if (!settings.inspect) return undefined;
  const inspector = createInspector(undefined, registryConfigFile(registryConfig));
  // The user's own manifests: every image is looked up, however many.
  return inspector.inspect([...new Set(images)], settings, {
    budget: Math.max(CHECK_BUDGET_MS, settings.timeout),
    maxLookups: Number.POSITIVE_INFINITY,
  });
}

/** `image: reason` of each image that could not be inspected. */
export function uninspectedImages(facts: ImageFacts | undefined): { image: string; reason: string }[] {
  return [...(facts?.values() ?? [])].flatMap((inspection) =>
    inspection.status === 'uninspected' ? [{ image: inspection.reference, reason: inspection.reason }] : [],
  );
}

export interface ImageLookupDeps {
  inspector: ImageInspector;
  /** Where unusable pull secrets and uninspected images are logged (the webhook's logger; none for `audit`). */
  logger?: Logger;
  /** For imagePullSecrets, when the policy opts in. */
  clients?: KubeClients;
}

/** `metrics` is made by the caller that has a registry (serve): `audit` and `check` do not load prom-client. */
export function createInspector(metrics: RegistryMetrics | undefined, defaultCredentialsFile?: string): ImageInspector {
  return new ImageInspector({
    ...(metrics === undefined ? {} : { metrics }),
    ...(defaultCredentialsFile === undefined ? {} : { defaultCredentialsFile }),
  });
}

/**
 * Credentials from the pod spec's imagePullSecrets (policy `pullSecrets: true`), read within `budget` ms;
 * the pod spec found as for the rules, kinds the policy adds included.
 */
async function pullSecretCredentials(
  deps: ImageLookupDeps,
  object: unknown,
  policy: Policy,
  namespace: string | undefined,
  budget: number,
): Promise<Map<string, Credentials> | undefined> {
  const workload = describeWorkload(object, podBearingKinds(policy));
  const ns = workload?.namespace ?? namespace;
  if (deps.clients === undefined || workload === undefined || ns === undefined) return undefined;
  const read = readPullSecrets(deps.clients, ns, workload.podSpec);
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), budget).unref());
  const credentials = new Map<string, Credentials>();
  for (const text of await Promise.race([read, timeout])) {
    try {
      for (const [host, entry] of parseDockerConfig(text, 'imagePullSecret')) credentials.set(host, entry);
    } catch (error) {
      deps.logger?.warn({ err: error }, 'unusable imagePullSecret');
    }
  }
  return credentials;
}

/** Looks `images` (those of `object`, from imagesToInspect) up within `budget` ms, with the pull secrets when the policy asks. */
async function inspectImages(
  deps: ImageLookupDeps,
  images: readonly string[],
  object: unknown,
  policy: Policy,
  namespace: string | undefined,
  budget: number,
): Promise<ImageFacts> {
  const settings = imageSettings(policy);
  if (!settings.pullSecrets) return deps.inspector.inspect(images, settings, { budget });
  // The lookups get what reading the pull secrets left of the budget.
  const started = Date.now();
  const credentials = await pullSecretCredentials(deps, object, policy, namespace, budget / 2);
  return deps.inspector.inspect(images, settings, { budget: Math.max(1, budget - (Date.now() - started)), credentials });
}

/** The webhook's step in front of /validate: image configs within the policy's budget; failures are logged, never thrown. */
export function createImageLookup(deps: ImageLookupDeps): LookUpImages {
  return (request, policy, selection) => {
    if ((request.operation !== 'CREATE' && request.operation !== 'UPDATE') || !imageSettings(policy).inspect) return undefined;
    // Computed once: most reviews have no image to look up and stay synchronous.
    const images = imagesToInspect(selection, policy);
    return images.length === 0 ? undefined : lookUp(deps, request, policy, images);
  };
}

async function lookUp(
  deps: ImageLookupDeps,
  request: AdmissionRequest,
  policy: Policy,
  images: readonly string[],
): Promise<ImageLookup | undefined> {
  try {
    const facts = await inspectImages(deps, images, request.object, policy, request.namespace, imageSettings(policy).timeout);
    for (const inspection of facts.values()) {
      if (inspection.status === 'uninspected')
        deps.logger?.warn({ uid: request.uid, image: inspection.reference, reason: inspection.reason }, 'image not inspected');
    }
    return { facts, warnUninspected: imageSettings(policy).warnUninspected };
  } catch (error) {
    deps.logger?.error({ err: error, uid: request.uid }, 'image lookup failed');
    return undefined;
  }
}

/** The background scan's (and `audit`'s) image lookup: a longer budget, the same caches. */
export function scanImageLookup(
  deps: ImageLookupDeps,
  policy: () => Policy,
): (object: unknown, namespace: string | undefined, selection: Selection) => Promise<ImageFacts> {
  return async (object, namespace, selection) => {
    const current = policy();
    const images = imageSettings(current).inspect ? imagesToInspect(selection, current) : [];
    return images.length === 0
      ? new Map()
      : inspectImages(deps, images, object, current, namespace, Math.max(SCAN_BUDGET_MS, imageSettings(current).timeout));
  };
}
