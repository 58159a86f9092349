import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { ApiServerAccess } from './kubeconfig.js';

// Not `import … from 'node:http'`: Node 24 builds that module's ESM facade by reading every export,
// and `http.WebSocket` is a getter that loads undici (~2.5 MB of an idle replica; src/server/server.ts).
const { Agent: PlainAgent, request: httpRequest } = process.getBuiltinModule('node:http');

/** The API server refused a request: its HTTP status and its answer (a Status object, or text). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: number;
  readonly body: unknown;

  constructor(code: number, message: string, body: unknown) {
    super(message);
    this.code = code;
    this.body = body;
  }
}

export function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiError && error.code === code;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** One event of a watch: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object. */
export type WatchCallback = (type: string, object: unknown) => void;

/** Streams a watch's events; `done` is called once when the stream ends (null) or fails. */
export interface WatchStream {
  watch(path: string, query: Query, onEvent: WatchCallback, done: (error: unknown) => void): Promise<{ abort(): void }>;
}

/** A request, or a list being read, whose connection stays silent this long is abandoned. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long the API server keeps a watch open (it ends it then, and the watch resumes): spread so replicas do not reconnect together. */
const WATCH_SECONDS = { min: 300, spread: 300 };

/** Reads a whole response as text. */
async function readText(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON (a proxy's error page): kept as text
  }
}

/** The API server's refusal of `what`, with the reason it gave when it gave one. */
async function refusal(response: IncomingMessage, what: string): Promise<ApiError> {
  const body = parseBody(await readText(response));
  const code = response.statusCode ?? 0;
  const reason =
    typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : (response.statusMessage ?? '');
  return new ApiError(code, `${what}: HTTP ${code}${reason === '' ? '' : ` ${reason}`}`, body);
}

/**
 * Requests to one API server: JSON in and out, keep-alive connections, every request with the
 * access's credentials. The calls lifecycle-guard makes need nothing more, and a replica that loads
 * no generated API client keeps ~20 MB less (docs/performance.md).
 */
export class ApiServer implements WatchStream {
  readonly server: string;
  readonly #access: ApiServerAccess;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor(access: ApiServerAccess) {
    this.#access = access;
    this.server = access.server;
    const plain = access.server.startsWith('http:');
    this.#agent = plain ? new PlainAgent({ keepAlive: true }) : new HttpsAgent({ keepAlive: true });
    this.#request = plain ? httpRequest : httpsRequest;
  }

  /**
   * Sends a request and answers with its response; a status outside 2xx is an ApiError naming `what`
   * (the method and path unless given). `idleMs` bounds the connection's silence.
   */
  async open(
    method: string,
    path: string,
    {
      query = {},
      body,
      contentType = 'application/json',
      idleMs = REQUEST_TIMEOUT_MS,
      what = `${method} ${path}`,
    }: { query?: Query; body?: unknown; contentType?: string; idleMs?: number; what?: string } = {},
  ): Promise<{ response: IncomingMessage; abort: () => void }> {
    const url = new URL(`${this.server}${path}`);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options: RequestOptions = {
      method,
      agent: this.#agent,
      headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': contentType }) },
    };
    await this.#access.apply(options);
    const opened = await new Promise<{ response: IncomingMessage; abort: () => void }>((resolve, reject) => {
      const request = this.#request(url, options, (response) => resolve({ response, abort: () => request.destroy() }));
      request.setTimeout(idleMs, () =>
        request.destroy(new Error(`${method} ${url.pathname}: no answer from ${this.server} in ${idleMs / 1000}s`)),
      );
      request.on('error', reject);
      request.end(payload);
    });
    const status = opened.response.statusCode ?? 0;
    if (status < 200 || status > 299) throw await refusal(opened.response, what);
    return opened;
  }

  /** A request whose answer is JSON; a status outside 2xx is an ApiError. */
  async request<T>(method: string, path: string, options: { query?: Query; body?: unknown; contentType?: string } = {}): Promise<T> {
    const { response } = await this.open(method, path, options);
    return parseBody(await readText(response)) as T;
  }

  /**
   * Watches `path` from the query's resourceVersion: one JSON event a line. The API server ends the
   * watch after a few minutes (`timeoutSeconds`) and `done(null)` lets the caller resume it; a
   * connection that stays silent past that is dropped as dead.
   */
  async watch(path: string, query: Query, onEvent: WatchCallback, done: (error: unknown) => void): Promise<{ abort(): void }> {
    const timeoutSeconds = WATCH_SECONDS.min + Math.floor(Math.random() * WATCH_SECONDS.spread);
    let ended = false;
    const end = (error: unknown) => {
      if (ended) return;
      ended = true;
      done(error);
    };
    let stream: { response: IncomingMessage; abort: () => void };
    try {
      stream = await this.open('GET', path, {
        query: { ...query, watch: true, allowWatchBookmarks: true, timeoutSeconds },
        idleMs: (timeoutSeconds + 30) * 1000,
        what: `watch ${path}`,
      });
    } catch (error) {
      end(error);
      return { abort: () => undefined };
    }
    const { response, abort } = stream;
    let pending = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(line) as typeof event;
        } catch {
          abort();
          end(new Error(`watch ${path}: the API server sent a line that is not JSON`));
          return;
        }
        if (typeof event.type === 'string') onEvent(event.type, event.object);
      }
    });
    response.on('end', () => end(null));
    response.on('error', end);
    response.on('close', () => end(response.complete ? null : new Error(`watch ${path}: connection closed`)));
    return {
      abort: () => {
        end(Object.assign(new Error('watch aborted'), { name: 'AbortError' }));
        abort();
      },
    };
  }
}
