import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { ClusterInfo } from '../../rules/index.js';
import { kindLabel, operationLabel, type Metrics } from '../metrics.js';
import type { PolicyHolder } from '../policy-holder.js';
import { answerReview, type Answer, type Endpoint } from './answer.js';
import { OFF_THREAD_BYTES, type DecisionWorker } from './off-thread.js';

export interface AdmissionDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  cluster: () => ClusterInfo;
  /** Where large reviews are decided; without it, every review is decided inline. */
  offThread?: DecisionWorker;
}

const UNANSWERABLE: Answer = { status: 500, json: JSON.stringify({ error: 'internal error: the review could not be evaluated' }) };

/**
 * Wraps a decision into an endpoint: answer the raw body (see answerReview) inline or, when it is
 * large, in the worker thread; respond; then log and count. 5xx only when the review could not be
 * evaluated at all (the worker ran out of memory or time): there is no uid to answer with, and the
 * API server's failurePolicy decides.
 */
export function admissionHandler(endpoint: Endpoint, deps: AdmissionDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const stopTimer = deps.metrics.duration.startTimer({ endpoint });
    const body: Uint8Array = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const job = { endpoint, body, policy: deps.policy.current, cluster: deps.cluster() };
    let answer: Answer;
    try {
      answer = body.length > OFF_THREAD_BYTES && deps.offThread !== undefined ? await deps.offThread.answer(job) : answerReview(endpoint, body, job.policy, job.cluster);
    } catch (error) {
      deps.logger.error({ err: error, endpoint, bytes: body.length }, 'admission failed');
      answer = UNANSWERABLE;
    }
    const { json } = answer;
    res
      .status(answer.status)
      .type('application/json')
      .send(typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength));

    const durationMs = stopTimer() * 1000;
    const summary = answer.summary;
    if (summary === undefined) return;
    const { request } = summary;
    // A rule that threw is a bug: log which one and why (the answer followed the policy's failureMode).
    if (summary.exception !== undefined) deps.logger.error({ err: summary.exception, uid: request.uid, endpoint }, 'admission failed');
    else if (summary.errors !== undefined) deps.logger.error({ uid: request.uid, endpoint, errors: summary.errors }, 'rule failed');
    deps.metrics.requests.inc({ endpoint, operation: operationLabel(request.operation), kind: kindLabel(request.kind), verdict: summary.verdict });
    for (const { rule, mode, count } of summary.counts) deps.metrics.violations.inc({ rule, mode }, count);
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
        verdict: summary.verdict,
        findings: summary.findings,
        ...(summary.findingCount > summary.findings.length ? { findingCount: summary.findingCount } : {}),
        durationMs: Math.round(durationMs * 1000) / 1000,
      },
      'admission',
    );
  };
}
