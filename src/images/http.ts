import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

// Not imported: the ESM facade of 'node:http' loads undici on Node 24 (see src/server/server.ts).
const { request: httpRequest } = process.getBuiltinModule('node:http');

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Where the answer came from after redirects. */
  url: URL;
}

export interface HttpOptions {
  headers?: Record<string, string>;
  signal: AbortSignal;
  maxBytes: number;
  /** PEM of extra CAs to trust besides the system's (NODE_EXTRA_CA_CERTS works too). */
  ca?: string;
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly kind: 'timeout' | 'unreachable' | 'too-large',
  ) {
    super(message);
  }
}

const MAX_REDIRECTS = 5;

function once(url: URL, options: HttpOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const req = send(url, {
      method: 'GET',
      headers: { 'User-Agent': 'lifecycle-guard', ...options.headers },
      signal: options.signal,
      ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: [...rootCertificates, options.ca] } : {}),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) {
          req.destroy(new HttpError(`${url.host} sent more than ${options.maxBytes} bytes`, 'too-large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), url }));
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (error instanceof HttpError) reject(error);
      else if (options.signal.aborted) reject(new HttpError(`${url.host} did not answer in time`, 'timeout'));
      else reject(new HttpError(`${url.host} unreachable: ${error.message}`, 'unreachable'));
    });
    req.end();
  });
}

/** GET with redirects followed (blob storage often redirects); credentials are not sent to another host. */
export async function httpGet(url: URL, options: HttpOptions): Promise<HttpResponse> {
  let current = url;
  let headers = options.headers ?? {};
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    const response = await once(current, { ...options, headers });
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(response.status) || location === undefined) return response;
    const next = new URL(location, current);
    if (current.protocol === 'https:' && next.protocol !== 'https:')
      throw new HttpError(`${url.host}: redirect from HTTPS to ${next.protocol} refused`, 'unreachable');
    if (next.host !== current.host)
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
    current = next;
  }
  throw new HttpError(`${url.host}: more than ${MAX_REDIRECTS} redirects`, 'unreachable');
}
