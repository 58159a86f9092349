import type { Logger } from 'pino';
import type { Policy } from '../../engine/policy.js';
import type { ClusterInfo } from '../../rules/index.js';
import { kindLabel, operationLabel, type Metrics } from '../metrics.js';
import type { PolicyHolder } from '../policy-holder.js';
import { ruleFailureDecision, type Decision } from './respond.js';
import { BadReviewError, parseAdmissionReview, toAdmissionReview, type AdmissionRequest } from './review.js';

/**
 * Decides one review. A step that must wait (for example a lookup at the edge) returns a Promise;
 * everything else answers synchronously, which keeps the common path free of microtask hops.
 */
export type Decide = (request: AdmissionRequest, policy: Policy, cluster: ClusterInfo) => Decision | Promise<Decision>;

export interface AdmissionDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  cluster: () => ClusterInfo;
}

/** Sends a JSON answer with an HTTP status. */
export type Reply = (status: number, payload: unknown) => void;

/** Answers a parsed request body; returns a Promise only when the decision had to wait. */
export type AdmissionEndpoint = (body: unknown, reply: Reply) => void | Promise<void>;

/**
 * Wraps a decision function into an endpoint: parse the review (400 when it cannot be answered),
 * decide, respond with the uid echoed, then log and count. An unexpected exception is answered as
 * the policy's failureMode says, never with a 5xx: the API server's failurePolicy is for an
 * unreachable webhook, not for a bug in one rule.
 */
export function admissionHandler(endpoint: 'validate' | 'mutate', decide: Decide, deps: AdmissionDeps): AdmissionEndpoint {
  const labels = { endpoint };
  return (body, reply) => {
    const started = process.hrtime.bigint();
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(body);
    } catch (error) {
      if (!(error instanceof BadReviewError)) throw error;
      deps.metrics.duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      reply(400, { error: error.message });
      return;
    }
    const policy = deps.policy.current;
    const failed = (error: unknown): Decision => {
      deps.logger.error({ err: error, uid: request.uid, endpoint }, 'admission failed');
      return ruleFailureDecision(request.uid, [{ rule: 'webhook', message: String(error) }], policy.failureMode);
    };
    const answer = (decision: Decision): void => {
      reply(200, toAdmissionReview(decision.response));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.duration.observe(labels, seconds);
      record(endpoint, request, decision, seconds, deps);
    };
    const decided = (decision: Decision): void => {
      // A rule that threw is a bug: log which one and why (the answer follows the policy's failureMode).
      if (decision.errors !== undefined) deps.logger.error({ uid: request.uid, endpoint, errors: decision.errors }, 'rule failed');
      answer(decision);
    };
    let decision: Decision | Promise<Decision>;
    try {
      decision = decide(request, policy, deps.cluster());
    } catch (error) {
      answer(failed(error));
      return;
    }
    if (decision instanceof Promise) return decision.then(decided, (error: unknown) => answer(failed(error)));
    decided(decision);
  };
}

function record(endpoint: string, request: AdmissionRequest, decision: Decision, seconds: number, deps: AdmissionDeps): void {
  deps.metrics.requests.inc({
    endpoint,
    operation: operationLabel(request.operation),
    kind: kindLabel(request.kind),
    verdict: decision.verdict,
  });
  for (const finding of decision.findings) deps.metrics.violations.inc({ rule: finding.rule, mode: finding.mode });
  // Identity and verdict only: the object can hold secrets (env values), so it is never logged.
  deps.logger.info(
    {
      uid: request.uid,
      endpoint,
      kind: request.kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      dryRun: request.dryRun,
      verdict: decision.verdict,
      findings: decision.findings.map((finding) => `${finding.rule}:${finding.container ?? ''}`),
      durationMs: Math.round(seconds * 1e6) / 1000,
    },
    'admission',
  );
}
