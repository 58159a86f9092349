import { statSync } from 'node:fs';
import type { ImageInspection } from '../core/images.js';
import type { Policy } from '../engine/policy.js';
import { containersInScope } from '../engine/evaluate.js';
import { selectRules, type Selection } from '../engine/select.js';
import type { ImageInspectionParams } from '../rules/no-shell-entrypoint.js';
import { readDockerConfig, type CredentialStore } from './auth.js';
import type { RegistryMetrics } from './metrics.js';
import { InspectionError, RegistryClient } from './registry.js';

const RULE = 'no-shell-entrypoint';
/** Images one call looks up over the network by default (one admission request, one scanned object); the rest are reported as not inspected. */
const MAX_LOOKUPS_PER_CALL = 32;

/** The rule's image settings in a policy. */
export function imageSettings(policy: Policy): ImageInspectionParams {
  return policy.rules[RULE]?.images as ImageInspectionParams;
}

/**
 * Images whose Entrypoint and Cmd decide PID 1 of a long-running container (no `command`), when
 * `no-shell-entrypoint` is among the rules selected for the object; empty otherwise, so nothing is
 * looked up in vain.
 */
export function imagesToInspect(selection: Selection, policy: Policy): string[] {
  const active = selection.skipped === undefined ? selection.rules.find(({ rule }) => rule.meta.id === RULE) : undefined;
  if (active === undefined || selection.workload === undefined) return [];
  const images = new Set<string>();
  for (const container of containersInScope(active.rule, selection.workload, policy.rules[RULE] ?? {}) ?? []) {
    const { command, image } = container.spec;
    const hasCommand = Array.isArray(command) && command.length > 0;
    if (!hasCommand && typeof image === 'string' && image !== '') images.add(image);
  }
  return [...images];
}

/** imagesToInspect for an object in a file (`check --inspect-images`): no namespace labels, no selection made before. */
export function objectImagesToInspect(object: unknown, policy: Policy): string[] {
  return imagesToInspect(selectRules(object, policy, { ruleType: 'validating' }), policy);
}

export interface InspectorOptions {
  metrics?: RegistryMetrics;
  /** Docker config used when the policy names none (the CLI's --registry-config); a missing file means no credentials. */
  defaultCredentialsFile?: string;
  /** PEM of extra CAs to trust (tests). */
  ca?: string;
}

function describeError(error: unknown, budget: number): { kind: string; reason: string } {
  if (error instanceof InspectionError) {
    return {
      kind: error.kind,
      reason:
        error.kind === 'timeout' && error.message === 'time budget exhausted' ? `no answer within the ${budget}ms budget` : error.message,
    };
  }
  return { kind: 'error', reason: error instanceof Error ? error.message : String(error) };
}

/**
 * Looks images up within a time budget and hands the results to the rules as data. An image that cannot
 * be inspected in time (or at all) is reported with why, never an error: the decision goes on without it.
 */
export class ImageInspector {
  readonly #options: InspectorOptions;
  #client: RegistryClient | undefined;
  #clientKey = '';
  #credentialsError: string | undefined;

  constructor(options: InspectorOptions = {}) {
    this.#options = options;
  }

  /** One client per set of registry settings: its caches survive requests, and a policy change starts afresh. */
  #clientFor(settings: ImageInspectionParams): RegistryClient {
    const { registries, platforms, cacheTTL } = settings;
    const file = registries.credentials ?? this.#options.defaultCredentialsFile;
    // A mounted Secret that changes (rotated credentials) is read again: its mtime is part of the key.
    let modified = 0;
    try {
      modified = file === undefined ? 0 : (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    } catch {
      // unreadable: reading it below reports why
    }
    const key = JSON.stringify({ registries, platforms, cacheTTL, modified });
    if (this.#client !== undefined && key === this.#clientKey) return this.#client;
    let credentials: CredentialStore = new Map();
    this.#credentialsError = undefined;
    try {
      if (file !== undefined) credentials = readDockerConfig(file, registries.credentials === undefined);
    } catch (error) {
      this.#credentialsError = error instanceof Error ? error.message : String(error);
    }
    this.#client = new RegistryClient({
      credentials,
      mirrors: registries.mirrors,
      insecure: registries.insecure,
      platforms,
      tagTTL: cacheTTL,
      ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca }),
      ...(this.#options.metrics === undefined ? {} : { metrics: this.#options.metrics }),
    });
    this.#clientKey = key;
    return this.#client;
  }

  /** Every image's inspection, answered within `budget` ms (the policy's timeout unless given). */
  async inspect(
    images: readonly string[],
    settings: ImageInspectionParams,
    options: { budget?: number; credentials?: CredentialStore; maxLookups?: number } = {},
  ): Promise<Map<string, ImageInspection>> {
    const facts = new Map<string, ImageInspection>();
    if (images.length === 0) return facts;
    const client = this.#clientFor(settings);
    const budget = options.budget ?? settings.timeout;
    const missing: string[] = [];
    for (const image of images) {
      const cached = client.cached(image, options.credentials);
      if (cached === undefined) missing.push(image);
      else facts.set(image, cached);
    }
    if (missing.length < images.length) this.#options.metrics?.inspections.inc({ outcome: 'inspected' }, images.length - missing.length);
    if (missing.length === 0) return facts;
    // One object cannot make the webhook fan out to hundreds of registries at once.
    const maxLookups = options.maxLookups ?? MAX_LOOKUPS_PER_CALL;
    for (const image of missing.splice(maxLookups)) {
      facts.set(image, { status: 'uninspected', reference: image, reason: `more than ${maxLookups} images to look up at once` });
      this.#options.metrics?.inspections.inc({ outcome: 'too-many' });
    }
    const signal = AbortSignal.timeout(budget);
    await Promise.all(
      missing.map(async (image) => {
        try {
          facts.set(image, await client.inspect(image, signal, options.credentials));
          this.#options.metrics?.inspections.inc({ outcome: 'inspected' });
        } catch (error) {
          const { kind, reason } = describeError(error, budget);
          const note = this.#credentialsError !== undefined && kind === 'unauthorized' ? `; ${this.#credentialsError}` : '';
          facts.set(image, { status: 'uninspected', reference: image, reason: `${reason}${note}` });
          this.#options.metrics?.inspections.inc({ outcome: kind });
        }
      }),
    );
    return facts;
  }
}
