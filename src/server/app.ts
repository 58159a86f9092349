import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { NamespaceLabelSource } from '../engine/exceptions.js';
import type { ClusterInfo } from '../core/types.js';
import { BodyBudget } from './admission/body-budget.js';
import { admissionHandler } from './admission/handler.js';
import type { LookUpImages } from './admission/images.js';
import { DecisionWorker } from './admission/off-thread.js';
import { admissionRoute } from './admission/route.js';
import type { Metrics } from './metrics.js';
import type { PolicyHolder } from './policy-holder.js';

/** Objects reach ~3 MiB and a review can carry both object and oldObject. */
export const MAX_BODY_BYTES = 7 * 1024 * 1024;
/** Default cap on the bytes buffered across all admission bodies in flight: a few maximal reviews. */
export const MAX_BUFFERED_BODY_BYTES = 4 * MAX_BODY_BYTES;

export interface AppDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  /** What is known of the cluster (its version picks the preStop action). */
  cluster?: () => ClusterInfo;
  /** Labels of namespaces, for exceptions with a namespaceSelector (the review carries none). */
  namespaces?: NamespaceLabelSource;
  /** Listening and not draining (the server sets it; the policy is in place before the server starts). */
  isReady?: () => boolean;
  /** Serve POST /validate and /mutate (default); false for a scan-only server (health, metrics, reports). */
  admission?: boolean;
  /** Looks up image configs before /validate decides (composed in the CLI from src/images). */
  lookUpImages?: LookUpImages;
  /** Extra GET routes (for example /reports), added by the composition in the CLI; served beside /metrics. */
  routes?: Record<string, () => unknown>;
  /** Cap on the bytes buffered across all admission bodies in flight (default MAX_BUFFERED_BODY_BYTES). */
  maxBufferedBodyBytes?: number;
}

/** The composed request handler: what an HTTP(S) server serves and what tests drive in-process. */
export type WebhookHandler = (req: IncomingMessage, res: ServerResponse) => void;

const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
};

/**
 * What monitoring reads, on a port of its own: /metrics and the extra routes (/reports lists every
 * workload's namespace, name and containers, which the webhook port must not give to any client).
 */
export function createMetricsApp(deps: Pick<AppDeps, 'metrics' | 'routes'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  for (const [path, read] of Object.entries(deps.routes ?? {})) {
    app.get(path, (_req, res) => {
      res.json(read());
    });
  }
  app.use(notFound);
  return app;
}

/**
 * The webhook (admission and health only) without listening: the admission endpoints on their lean
 * path (admission/route.ts), in front of the express app that serves everything else. Tests drive it
 * in-process.
 */
export function createApp(deps: AppDeps): WebhookHandler {
  const edge = {
    ...(deps.namespaces === undefined ? {} : { namespaceLabels: deps.namespaces.labels.bind(deps.namespaces) }),
    ...(deps.lookUpImages === undefined ? {} : { lookUpImages: deps.lookUpImages }),
  };
  const admission = {
    policy: deps.policy,
    metrics: deps.metrics,
    logger: deps.logger,
    cluster: deps.cluster ?? (() => ({})),
    offThread: new DecisionWorker(),
    edge,
    ...(deps.namespaces === undefined ? {} : { namespaces: deps.namespaces }),
  };
  const route = admissionRoute({
    endpoints: { validate: admissionHandler('validate', admission), mutate: admissionHandler('mutate', admission) },
    maxBodyBytes: MAX_BODY_BYTES,
    budget: new BodyBudget(deps.maxBufferedBodyBytes ?? MAX_BUFFERED_BODY_BYTES),
    onOverload: () => deps.metrics.overloaded.inc(),
    logger: deps.logger,
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady?.() ?? true;
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ok' : 'not ready');
  });
  app.use(notFound);
  app.use(((error, _req, res, _next) => {
    deps.logger.error({ err: error }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  }) satisfies ErrorRequestHandler);
  // A scan-only server answers no reviews: /validate and /mutate fall through to 404.
  const serveAdmission = deps.admission !== false;
  return (req, res) => {
    if (!serveAdmission || !route(req, res)) app(req, res);
  };
}
