import { BYTE_SCAN_BYTES, jsonNestingExceeds, MAX_NESTING_DEPTH, parsedJsonNestingExceeds } from '../../core/depth.js';
import type { RuleError } from '../../engine/evaluate.js';
import type { NamespaceLabels } from '../../engine/exceptions.js';
import type { Policy } from '../../engine/policy.js';
import type { ClusterInfo } from '../../core/types.js';
import { mutateRequest } from './mutate.js';
import { noteUninspectedImages, type ImageLookup, type LookUpImages } from './images.js';
import { MAX_LISTED_FINDINGS, ruleFailureDecision, type Decision, type DecisionInputs, type Verdict } from './respond.js';
import { BadReviewError, parseAdmissionReview, toAdmissionReview, type AdmissionRequest } from './review.js';
import { validateRequest, validationSelection } from './validate.js';

export type Endpoint = 'validate' | 'mutate';
/**
 * Decides one review. A step that must wait (for example a lookup at the edge) returns a Promise;
 * everything else answers synchronously, which keeps the common path free of microtask hops.
 */
export type Decide = (
  request: AdmissionRequest,
  policy: Policy,
  cluster: ClusterInfo,
  inputs?: DecisionInputs,
) => Decision | Promise<Decision>;

/**
 * What the composition looks up for a decision: functions, so only for reviews decided inline. A
 * review decided in the worker thread (over OFF_THREAD_BYTES, rare: a typical review is a few KiB)
 * gets every namespace's labels as data instead (DecisionJob), and no image inspection (see docs/security.md).
 */
export interface DecisionEdge {
  namespaceLabels?: NamespaceLabels;
  lookUpImages?: LookUpImages;
}

export const DECIDERS: Readonly<Record<Endpoint, Decide>> = { validate: validateRequest, mutate: mutateRequest };

/** What the log and the metrics need of an answered review: its identity and a bounded view of the findings. */
export interface AnswerSummary {
  request: Omit<AdmissionRequest, 'object' | 'oldObject'>;
  verdict: Verdict;
  /** `rule:container` of the first findings (at most MAX_LISTED_FINDINGS). */
  findings: string[];
  findingCount: number;
  /** Findings per rule and mode, for the violations counter. */
  counts: { rule: string; mode: string; count: number }[];
  errors?: readonly RuleError[];
  withheldPatchBytes?: number;
  /** An exception outside the rules (a bug in the webhook), for the log. */
  exception?: { type: string; message: string; stack?: string };
}

/** An HTTP answer to a body posted to /validate or /mutate: the status, its JSON text, and (200 only) a summary. */
export interface Answer {
  status: number;
  /** UTF-8 bytes when it comes from the worker thread (moved, not copied: a patch can be tens of MB). */
  json: string | Uint8Array;
  summary?: AnswerSummary;
}

/** What answerReview itself returns: JSON text. */
type TextAnswer = Answer & { json: string };

function badRequest(error: string): TextAnswer {
  return { status: 400, json: JSON.stringify({ error }) };
}

function summarize(request: AdmissionRequest, decision: Decision, exception?: AnswerSummary['exception']): AnswerSummary {
  const counts = new Map<string, AnswerSummary['counts'][number]>();
  for (const { rule, mode } of decision.findings) {
    const key = `${rule}\u0000${mode}`;
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { rule, mode, count: 1 });
    else entry.count += 1;
  }
  const { object: _object, oldObject: _oldObject, ...identity } = request;
  return {
    request: identity,
    verdict: decision.verdict,
    findings: decision.findings.slice(0, MAX_LISTED_FINDINGS).map((finding) => `${finding.rule}:${finding.container ?? ''}`),
    findingCount: decision.findings.length,
    counts: [...counts.values()],
    ...(decision.errors === undefined ? {} : { errors: decision.errors }),
    ...(decision.withheldPatchBytes === undefined ? {} : { withheldPatchBytes: decision.withheldPatchBytes }),
    ...(exception === undefined ? {} : { exception }),
  };
}

/** Plain data, so that it crosses from a worker thread to the log. */
function exceptionOf(error: unknown): NonNullable<AnswerSummary['exception']> {
  return error instanceof Error
    ? { type: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) }
    : { type: typeof error, message: String(error) };
}

/**
 * Answers the raw body of an admission request: 400 when it cannot be answered (not JSON, nested
 * absurdly deep, not an AdmissionReview with a uid), otherwise the decision. An exception in a rule
 * is answered as the policy's failureMode says, never with a 5xx: the API server's failurePolicy is
 * for an unreachable webhook, not for a bug in one rule. Pure, so it runs as well in a worker thread
 * as inline; synchronous unless the decision has to wait.
 */
export function answerReview(
  endpoint: Endpoint,
  body: Uint8Array,
  policy: Policy,
  cluster: ClusterInfo,
  edge: DecisionEdge = {},
): TextAnswer | Promise<TextAnswer> {
  // Checked before anything recursive (copy, diff) can meet the nesting; large bodies before parsing.
  const tooDeep = () => badRequest(`invalid request body: JSON nested deeper than ${MAX_NESTING_DEPTH} levels`);
  if (body.byteLength > BYTE_SCAN_BYTES && jsonNestingExceeds(body)) return tooDeep();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    return badRequest(`invalid request body: ${(error as Error).message}`);
  }
  if (body.byteLength <= BYTE_SCAN_BYTES && parsedJsonNestingExceeds(parsed)) return tooDeep();
  let request: AdmissionRequest;
  try {
    request = parseAdmissionReview(parsed);
  } catch (error) {
    if (error instanceof BadReviewError) return badRequest(error.message);
    throw error;
  }
  const answer = (decision: Decision, exception?: AnswerSummary['exception']): TextAnswer => ({
    status: 200,
    json: JSON.stringify(toAdmissionReview(decision.response)),
    summary: summarize(request, decision, exception),
  });
  const failed = (error: unknown): TextAnswer =>
    answer(ruleFailureDecision(request.uid, [{ rule: 'webhook', message: String(error) }], policy.failureMode), exceptionOf(error));
  const labels = edge.namespaceLabels === undefined ? {} : { namespaceLabels: edge.namespaceLabels };
  let decision: Decision | Promise<Decision>;
  try {
    // Only /validate reads images: it selects its rules once, for the image lookup and the decision.
    // The lookup is a Promise only when there is an image to look up.
    const selection =
      endpoint === 'validate' && edge.lookUpImages !== undefined ? validationSelection(request, policy, edge.namespaceLabels) : undefined;
    const inputs: DecisionInputs = selection === undefined ? labels : { ...labels, selection };
    const lookup = selection === undefined ? undefined : edge.lookUpImages?.(request, policy, selection);
    const decide = (found: ImageLookup | undefined): Decision | Promise<Decision> => {
      const decided = DECIDERS[endpoint](request, policy, cluster, found === undefined ? inputs : { ...inputs, images: found.facts });
      return found === undefined
        ? decided
        : decided instanceof Promise
          ? decided.then((value) => noteUninspectedImages(value, found))
          : noteUninspectedImages(decided, found);
    };
    decision = lookup instanceof Promise ? lookup.then(decide) : decide(lookup);
  } catch (error) {
    return failed(error);
  }
  return decision instanceof Promise ? decision.then((decided) => answer(decided), failed) : answer(decision);
}
