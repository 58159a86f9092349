import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Policy } from '../../engine/policy.js';
import type { ClusterInfo } from '../../core/types.js';
import { kindLabel, operationLabel, type Metrics } from '../metrics.js';
import type { PolicyHolder } from '../policy-holder.js';
import { ruleFailureDecision, type Decision } from './respond.js';
import { BadReviewError, parseAdmissionReview, toAdmissionReview, type AdmissionRequest } from './review.js';

export type Decide = (request: AdmissionRequest, policy: Policy, cluster: ClusterInfo) => Decision;

export interface AdmissionDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  cluster: () => ClusterInfo;
}

/**
 * Wraps a decision function into an endpoint: parse the review (400 when it cannot be answered),
 * decide, respond with the uid echoed, then log and count. An unexpected exception is answered as
 * the policy's failureMode says, never with a 5xx: the API server's failurePolicy is for an
 * unreachable webhook, not for a bug in one rule.
 */
export function admissionHandler(endpoint: 'validate' | 'mutate', decide: Decide, deps: AdmissionDeps): RequestHandler {
  return (req: Request, res: Response) => {
    const stopTimer = deps.metrics.duration.startTimer({ endpoint });
    let request: AdmissionRequest;
    try {
      request = parseAdmissionReview(req.body);
    } catch (error) {
      if (!(error instanceof BadReviewError)) throw error;
      stopTimer();
      res.status(400).json({ error: error.message });
      return;
    }
    const policy = deps.policy.current;
    let decision: Decision;
    try {
      decision = decide(request, policy, deps.cluster());
      // A rule that threw is a bug: log which one and why (the answer follows the policy's failureMode).
      if (decision.errors !== undefined) deps.logger.error({ uid: request.uid, endpoint, errors: decision.errors }, 'rule failed');
    } catch (error) {
      deps.logger.error({ err: error, uid: request.uid, endpoint }, 'admission failed');
      decision = ruleFailureDecision(request.uid, [{ rule: 'webhook', message: String(error) }], policy.failureMode);
    }
    res.json(toAdmissionReview(decision.response));

    const durationMs = stopTimer() * 1000;
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
        durationMs: Math.round(durationMs * 1000) / 1000,
      },
      'admission',
    );
  };
}
