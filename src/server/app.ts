import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ClusterInfo } from '../rules/index.js';
import { admissionHandler } from './admission/handler.js';
import { DecisionWorker } from './admission/off-thread.js';
import type { Metrics } from './metrics.js';
import type { PolicyHolder } from './policy-holder.js';

/** Objects reach ~3 MiB and a review can carry both object and oldObject. */
export const MAX_BODY = '7mb';

export interface AppDeps {
  policy: PolicyHolder;
  metrics: Metrics;
  logger: Logger;
  /** What is known of the cluster (its version picks the preStop action). */
  cluster?: () => ClusterInfo;
  /** Policy loaded and TLS up; false while draining. */
  isReady?: () => boolean;
  /** Extra GET routes (for example /reports), added by the composition in the CLI; served beside /metrics. */
  routes?: Record<string, () => unknown>;
}

/** Body-parser errors carry the HTTP status to answer with (400 malformed JSON, 413 too large). */
const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : undefined;
  if (status === undefined) {
    next(error);
    return;
  }
  res.status(status).json({ error: status === 413 ? `request body larger than ${MAX_BODY}` : `invalid request body: ${error.message}` });
};

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

/** The webhook's express app (admission and health only), without listening: tests drive it in-process. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const admission = { policy: deps.policy, metrics: deps.metrics, logger: deps.logger, cluster: deps.cluster ?? (() => ({})), offThread: new DecisionWorker() };

  // Raw bytes: the handler parses them itself, in a worker thread when they are large.
  const raw = express.raw({ limit: MAX_BODY, type: () => true });
  app.post('/validate', raw, admissionHandler('validate', admission));
  app.post('/mutate', raw, admissionHandler('mutate', admission));

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const ready = deps.isReady?.() ?? true;
    res.status(ready ? 200 : 503).type('text/plain').send(ready ? 'ok' : 'not ready');
  });
  app.use(notFound);
  app.use(bodyErrors);
  app.use(((error, _req, res, _next) => {
    deps.logger.error({ err: error }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  }) satisfies ErrorRequestHandler);
  return app;
}
