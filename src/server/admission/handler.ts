import type { Logger } from 'pino';
import type { ClusterInfo } from '../../core/types.js';
import { readsNamespaceLabels, type NamespaceLabelSource } from '../../engine/exceptions.js';
import { kindLabel, operationLabel, type Metrics } from '../metrics.js';
import type { PolicyHolder } from '../policy-holder.js';
import { answerReview, type Answer, type AnswerSummary, type DecisionEdge, type Endpoint } from './answer.js';
import { OFF_THREAD_BYTES, type DecisionWorker } from './off-thread.js';

export interface AdmissionDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  cluster: () => ClusterInfo;
  /** Where large reviews are decided; without it, every review is decided inline. */
  offThread?: DecisionWorker;
  /** Lookups at the edge for reviews decided inline (see DecisionEdge). */
  edge?: DecisionEdge;
  /** Every namespace's labels go with a review decided in the worker when an exception selects namespaces. */
  namespaces?: NamespaceLabelSource;
}

/** Sends an answer: the HTTP status and the JSON text (or its UTF-8 bytes). */
export type Reply = (status: number, json: string | Uint8Array) => void;

/**
 * Answers the raw body of a request; returns a Promise only when the answer had to wait. `received`
 * (performance.now() when the body was complete) starts the duration the metrics report.
 */
export type AdmissionEndpoint = (body: Uint8Array, reply: Reply, received?: number) => void | Promise<void>;

const UNANSWERABLE: Answer = { status: 500, json: JSON.stringify({ error: 'internal error: the review could not be evaluated' }) };

/**
 * Wraps a decision into an endpoint: answer the raw body (see answerReview) inline and synchronously
 * when it is small, in the worker thread when it is large; respond; then log and count. 5xx only when
 * the review could not be evaluated at all (the worker ran out of memory or time): there is no uid
 * to answer with, and the API server's failurePolicy decides.
 */
export function admissionHandler(endpoint: Endpoint, deps: AdmissionDeps): AdmissionEndpoint {
  const labels = { endpoint };
  // The admission line names its fields one by one and never holds an object, so the logger's
  // redaction (a guard for other lines) has nothing to find in it; it cost more than the line itself.
  const admissionLog = deps.logger.child({}, { redact: [] });
  return (body, reply, started = performance.now()) => {
    const bytes = body.length; // a body decided off the thread is moved there
    const respond = (answer: Answer): void => {
      reply(answer.status, answer.json);
      const seconds = (performance.now() - started) / 1000;
      deps.metrics.duration.observe(labels, seconds);
      if (answer.summary !== undefined) record(endpoint, answer.summary, seconds, deps, admissionLog);
    };
    const unanswerable = (error: unknown): void => {
      deps.logger.error({ err: error, endpoint, bytes }, 'admission failed');
      respond(UNANSWERABLE);
    };
    const policy = deps.policy.current;
    const job = { endpoint, body, policy, cluster: deps.cluster() };
    let answer: Answer | Promise<Answer>;
    try {
      answer =
        body.length > OFF_THREAD_BYTES && deps.offThread !== undefined
          ? deps.offThread.answer(
              deps.namespaces !== undefined && readsNamespaceLabels(policy.exceptions)
                ? { ...job, namespaceLabels: deps.namespaces.all() }
                : job,
            )
          : answerReview(endpoint, body, policy, job.cluster, deps.edge);
    } catch (error) {
      unanswerable(error);
      return;
    }
    if (answer instanceof Promise) return answer.then(respond, unanswerable);
    respond(answer);
  };
}

function record(endpoint: Endpoint, summary: AnswerSummary, seconds: number, deps: AdmissionDeps, admissionLog: Logger): void {
  const { request } = summary;
  // A rule that threw is a bug: log which one and why (the answer followed the policy's failureMode).
  if (summary.exception !== undefined) deps.logger.error({ err: summary.exception, uid: request.uid, endpoint }, 'admission failed');
  else if (summary.errors !== undefined) deps.logger.error({ uid: request.uid, endpoint, errors: summary.errors }, 'rule failed');
  deps.metrics.requests.inc({
    endpoint,
    operation: operationLabel(request.operation),
    kind: kindLabel(request.kind),
    verdict: summary.verdict,
  });
  for (const { rule, mode, count } of summary.counts) deps.metrics.violations.inc({ rule, mode }, count);
  if (summary.withheldPatchBytes !== undefined) deps.metrics.withheldPatches.inc();
  // A review allowed without a finding is the common case of a busy cluster and says nothing new
  // (the requests counter has it): logged at debug, which took a tenth of the CPU per request at info.
  const level = summary.verdict === 'allowed' && summary.findingCount === 0 ? 'debug' : 'info';
  if (!admissionLog.isLevelEnabled(level)) return;
  // Identity and verdict only: the object can hold secrets (env values), so it is never logged.
  admissionLog[level](
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
      ...(summary.withheldPatchBytes === undefined ? {} : { withheldPatchBytes: summary.withheldPatchBytes }),
      durationMs: Math.round(seconds * 1e6) / 1000,
    },
    'admission',
  );
}
