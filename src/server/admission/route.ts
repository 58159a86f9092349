import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { BodyBudget } from './body-budget.js';
import type { AdmissionEndpoint, Reply } from './handler.js';
import { createRoundQueue, type AtEndOfRound } from './round.js';

/** How long a client refused for lack of buffer space should wait before it retries. */
export const RETRY_AFTER_SECONDS = 1;

export interface AdmissionRouteOptions {
  endpoints: Readonly<Record<'validate' | 'mutate', AdmissionEndpoint>>;
  /** A single body above this is answered 413. */
  maxBodyBytes: number;
  /** Shared by all bodies in flight; over it, 503 with Retry-After. */
  budget: BodyBudget;
  /** Called when a body is refused because the budget is spent. */
  onOverload: () => void;
  logger: Logger;
}

/** /validate or /mutate as express would route them (case-insensitive, optional trailing slash, any query). */
function endpointOf(url: string | undefined): 'validate' | 'mutate' | undefined {
  if (url === undefined) return undefined;
  const query = url.indexOf('?');
  let path = (query === -1 ? url : url.slice(0, query)).toLowerCase();
  if (path.endsWith('/') && path.length > 1) path = path.slice(0, -1);
  return path === '/validate' ? 'validate' : path === '/mutate' ? 'mutate' : undefined;
}

/** The first answer to a request is written (with the others of its round); any later one is dropped. */
function jsonReply(res: ServerResponse, atEndOfRound: AtEndOfRound): Reply {
  let answered = false;
  return (status, json) => {
    if (answered) return;
    answered = true;
    atEndOfRound(() => {
      const length = typeof json === 'string' ? Buffer.byteLength(json) : json.byteLength;
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': length });
      res.end(json);
    });
  };
}

const errorJson = (error: string) => JSON.stringify({ error });

/** A reason the body cannot be read; the status and message go to the client. */
function refusal(req: IncomingMessage, maxBodyBytes: number): { status: number; error: string } | undefined {
  const encoding = req.headers['content-encoding']?.toLowerCase();
  if (encoding !== undefined && encoding !== 'identity') return { status: 415, error: `unsupported content encoding "${encoding}"` };
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return { status: 415, error: `unsupported charset "${charset}"` };
  if (Number(req.headers['content-length']) > maxBodyBytes) return { status: 413, error: `request body larger than ${maxBodyBytes} bytes` };
  return undefined;
}

/**
 * The admission endpoints on a lean path in front of the express app: the body is read here, within
 * the size limit and the shared budget, without express's per-request machinery, which cost more
 * than half the machine on this path (docs/performance.md), and handed to the endpoint as bytes
 * (it checks their nesting and parses them as JSON whatever the content type says: the API server
 * sends application/json) at the end of the event loop's round, with the other reviews that arrived
 * with it (round.ts). Returns false for every other request, which the app then serves.
 */
export function admissionRoute(options: AdmissionRouteOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { endpoints, maxBodyBytes, budget } = options;
  const atEndOfRound = createRoundQueue((error) => options.logger.error({ err: error }, 'answer not written'));
  return (req, res) => {
    const endpoint = req.method === 'POST' ? endpointOf(req.url) : undefined;
    if (endpoint === undefined) return false;
    const reply = jsonReply(res, atEndOfRound);
    const refused = refusal(req, maxBodyBytes);
    if (refused !== undefined) {
      reply(refused.status, errorJson(refused.error));
      return true;
    }

    const chunks: Buffer[] = [];
    let held = 0;
    res.once('close', () => budget.give(held));
    const overload = () => {
      options.onOverload();
      res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
      reply(
        503,
        errorJson(`too many request bodies in flight (${budget.capacity} bytes buffered at most); retry in ${RETRY_AFTER_SECONDS}s`),
      );
    };
    // A known length is taken from the budget at once, so a refused body is never read.
    const declared = Number(req.headers['content-length']);
    if (declared > 0) {
      if (!budget.take(declared, 0)) {
        overload();
        return true;
      }
      held = declared;
    }
    let size = 0;
    let stopped = false;
    const stop = (status: number, error: string) => {
      stopped = true;
      chunks.length = 0;
      req.removeListener('data', onData);
      if (status === 503) overload();
      else reply(status, errorJson(error));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        stop(413, `request body larger than ${maxBodyBytes} bytes`);
        return;
      }
      if (size > held) {
        if (!budget.take(size - held, held)) {
          stop(503, '');
          return;
        }
        held = size;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    // A client that goes away mid-body: nothing to answer; the budget is given back when res closes.
    req.once('error', () => {
      stopped = true;
      chunks.length = 0;
    });
    req.once('end', () => {
      if (stopped) return;
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      const unexpected = (error: unknown) => {
        options.logger.error({ err: error }, 'unhandled error');
        reply(500, errorJson('internal error')); // dropped if the endpoint had answered
      };
      const received = performance.now();
      atEndOfRound(() => {
        try {
          endpoints[endpoint](body, reply, received)?.catch(unexpected);
        } catch (error) {
          unexpected(error);
        }
      });
    });
    return true;
  };
}
