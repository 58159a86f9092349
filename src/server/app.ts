import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';
import type { ClusterInfo } from '../core/types.js';
import { admissionHandler } from './admission/handler.js';
import { mutateRequest } from './admission/mutate.js';
import { validateRequest } from './admission/validate.js';
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
  /** Listening and not draining (the server sets it; the policy is in place before the server starts). */
  isReady?: () => boolean;
  /** Extra GET routes (for example /reports), added by the composition in the CLI. */
  routes?: Record<string, () => unknown>;
}

/** Body-parser errors carry the HTTP status to answer with (400 malformed JSON, 413 too large). */
const bodyErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  const status = error instanceof Error && 'status' in error && typeof error.status === 'number' ? error.status : undefined;
  if (error instanceof Error && status !== undefined && status >= 400 && status < 500) {
    res.status(status).json({ error: status === 413 ? `request body larger than ${MAX_BODY}` : `invalid request body: ${error.message}` });
    return;
  }
  next(error);
};

/** The webhook's express app, without listening: tests drive it in-process. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const admission = { policy: deps.policy, metrics: deps.metrics, logger: deps.logger, cluster: deps.cluster ?? (() => ({})) };

  const json = express.json({ limit: MAX_BODY, type: () => true });
  app.post('/validate', json, admissionHandler('validate', validateRequest, admission));
  app.post('/mutate', json, admissionHandler('mutate', mutateRequest, admission));

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
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  for (const [path, read] of Object.entries(deps.routes ?? {})) {
    app.get(path, (_req, res) => {
      res.json(read());
    });
  }

  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });
  app.use(bodyErrors);
  app.use(((error, _req, res, _next) => {
    deps.logger.error({ err: error }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  }) satisfies ErrorRequestHandler);
  return app;
}
