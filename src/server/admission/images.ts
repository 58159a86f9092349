import type { ImageFacts } from '../../core/images.js';
import type { Policy } from '../../engine/policy.js';
import type { Selection } from '../../engine/select.js';
import { limitWarnings, type Decision } from './respond.js';
import type { AdmissionRequest } from './review.js';

/** What the image lookup in front of a decision found (the composition does the I/O; this module only reports it). */
export interface ImageLookup {
  facts: ImageFacts;
  /** The policy asks for a kubectl warning per image that could not be inspected. */
  warnUninspected: boolean;
}

/**
 * Looks up the images a request's decision depends on (the rules /validate selected for its object),
 * within the policy's time budget; never rejects. Undefined at once when there is nothing to look up,
 * so that most reviews stay synchronous.
 */
export type LookUpImages = (
  request: AdmissionRequest,
  policy: Policy,
  selection: Selection,
) => Promise<ImageLookup | undefined> | undefined;

const AUDIT_KEY = 'images-not-inspected';
const MAX_AUDIT_LENGTH = 1024;

/**
 * Records in the answer which images were not inspected, and why: always as an audit annotation, as a
 * warning only when the policy asks (clusters of private images would otherwise drown in warnings).
 */
export function noteUninspectedImages(decision: Decision, lookup: ImageLookup | undefined): Decision {
  const missed = [...(lookup?.facts.values() ?? [])].flatMap((inspection) =>
    inspection.status === 'uninspected' ? [`${inspection.reference}: ${inspection.reason}`] : [],
  );
  if (missed.length === 0 || lookup === undefined) return decision;
  const annotation = missed.join('; ');
  const response = {
    ...decision.response,
    auditAnnotations: {
      ...decision.response.auditAnnotations,
      [AUDIT_KEY]: annotation.length <= MAX_AUDIT_LENGTH ? annotation : `${annotation.slice(0, MAX_AUDIT_LENGTH - 1)}…`,
    },
  };
  if (lookup.warnUninspected) {
    const notes = missed.map((line) =>
      `[no-shell-entrypoint] image not inspected, its ENTRYPOINT/CMD was not checked: ${line}`.slice(0, 256),
    );
    response.warnings = limitWarnings([...(decision.response.warnings ?? []), ...notes]);
  }
  return { ...decision, response };
}
