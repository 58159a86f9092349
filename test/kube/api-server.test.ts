// The own API client's transport against loopback servers: JSON requests and refusals, watch streams
// (events split across chunks, the end, broken lines, refusals, abort), and TLS with the cluster's CA
// and a bearer token.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiError, ApiServer, isStatus } from '../../src/kube/api-server.js';
import { apiServerAccess } from '../../src/kube/kubeconfig.js';
import { generateCertificates } from '../../src/tls/generate.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('ApiServer over HTTP', () => {
  let handle: Handler = (_req, _body, res) => res.end();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, Buffer.concat(chunks).toString(), res));
  });
  let api: ApiServer;
  before(async () => {
    api = new ApiServer(apiServerAccess({ cluster: { server: `http://127.0.0.1:${await listen(server)}` }, user: {} }));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a request sends its JSON body with its content type and query, and answers with the parsed JSON', async () => {
    let seen: { method?: string; url?: string; type?: string; body?: string } = {};
    handle = (req, body, res) => {
      seen = { method: req.method, url: req.url, type: req.headers['content-type'], body };
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Lease"}');
    };
    const answer = await api.request('PATCH', '/apis/x/v1/things/a', {
      query: { fieldSelector: 'metadata.name=a b', limit: undefined },
      body: [{ op: 'add' }],
      contentType: 'application/json-patch+json',
    });
    assert.deepEqual(answer, { kind: 'Lease' });
    assert.deepEqual(seen, {
      method: 'PATCH',
      url: '/apis/x/v1/things/a?fieldSelector=metadata.name%3Da+b',
      type: 'application/json-patch+json',
      body: '[{"op":"add"}]',
    });
  });

  test("a refusal is an ApiError with the status, the API server's message and its body", async () => {
    const status = { kind: 'Status', code: 409, message: 'the object has been modified' };
    handle = (_req, _body, res) => res.writeHead(409, { 'content-type': 'application/json' }).end(JSON.stringify(status));
    const error = await api.request('PUT', '/api/v1/namespaces/a/secrets/s', { body: {} }).then(
      () => assert.fail('no error'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ApiError && isStatus(error, 409));
    assert.equal(error.message, 'PUT /api/v1/namespaces/a/secrets/s: HTTP 409 the object has been modified');
    assert.deepEqual(error.body, status);
    handle = (_req, _body, res) => res.writeHead(502).end('<html>bad gateway</html>');
    await assert.rejects(
      api.request('GET', '/version'),
      (caught) => isStatus(caught, 502) && (caught as ApiError).body === '<html>bad gateway</html>',
    );
  });

  function watchOnce(path = '/api/v1/namespaces') {
    const events: [string, unknown][] = [];
    let resolveDone: (error: unknown) => void = () => undefined;
    const done = new Promise<unknown>((resolve) => (resolveDone = resolve));
    let endings = 0;
    const started = api.watch(
      path,
      { resourceVersion: '7' },
      (type, object) => events.push([type, object]),
      (error) => {
        endings += 1;
        resolveDone(error);
      },
    );
    return { events, done, started, endings: () => endings };
  }

  test('a watch hands over each event, also when a line is split across chunks, and ends with null', async () => {
    let url = '';
    handle = (req, _body, res) => {
      url = req.url ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"8"}}}\n{"type":"MODI');
      setTimeout(() => res.end('FIED","object":{"metadata":{"name":"a","resourceVersion":"9"}}}\n\n'), 20);
    };
    const watch = watchOnce();
    assert.equal(await watch.done, null);
    assert.deepEqual(watch.events, [
      ['ADDED', { metadata: { name: 'a', resourceVersion: '8' } }],
      ['MODIFIED', { metadata: { name: 'a', resourceVersion: '9' } }],
    ]);
    const query = new URL(url, 'http://x').searchParams;
    assert.equal(query.get('watch'), 'true');
    assert.equal(query.get('resourceVersion'), '7');
    assert.equal(query.get('allowWatchBookmarks'), 'true');
    const seconds = Number(query.get('timeoutSeconds'));
    assert.ok(seconds >= 300 && seconds < 600, `timeoutSeconds ${seconds}`);
    assert.equal(watch.endings(), 1);
  });

  test('a watch that is refused, sends a broken line, or is aborted ends once with an error', async () => {
    handle = (_req, _body, res) =>
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"kind":"Status","code":403,"message":"forbidden"}');
    const refused = watchOnce();
    assert.ok(isStatus(await refused.done, 403));

    handle = (_req, _body, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{}}\nnot json\n');
    };
    const broken = watchOnce();
    assert.match(String(await broken.done), /not JSON/);
    assert.deepEqual(broken.events, [['ADDED', {}]]);

    handle = (_req, _body, res) => {
      res.writeHead(200);
      res.write('\n');
    };
    const aborted = watchOnce();
    (await aborted.started).abort();
    assert.equal(((await aborted.done) as Error).name, 'AbortError');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(aborted.endings(), 1, 'done once, not again when the connection closes');
  });

  test('an API server that does not answer: the request fails, it does not hang', async () => {
    const silent = createServer(() => undefined);
    const port = await listen(silent);
    try {
      const api = new ApiServer(apiServerAccess({ cluster: { server: `http://127.0.0.1:${port}` }, user: {} }));
      await assert.rejects(api.open('GET', '/version', { idleMs: 50 }), /no answer from http:\/\/127\.0\.0\.1:\d+ in 0\.05s/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('ApiServer over HTTPS', () => {
  let port: number;
  let caPem: string;
  let otherCaPem: string;
  const authorizations: (string | undefined)[] = [];
  const close: (() => void)[] = [];
  before(async () => {
    const [bundle, other] = await Promise.all([
      generateCertificates({ hosts: ['localhost', '127.0.0.1'] }),
      generateCertificates({ hosts: ['localhost'] }),
    ]);
    caPem = bundle.ca.cert;
    otherCaPem = other.ca.cert;
    const server = createHttpsServer({ cert: bundle.serving.cert, key: bundle.serving.key }, (req, res) => {
      authorizations.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"major":"1","minor":"37"}');
    });
    port = await listen(server);
    close.push(() => {
      server.closeAllConnections();
      server.close();
    });
  });
  after(() => close.forEach((fn) => fn()));

  const data = (pem: string) => Buffer.from(pem).toString('base64');

  test("the cluster's CA is trusted and the bearer token sent; another CA is refused unless verification is skipped", async () => {
    const trusted = new ApiServer(
      apiServerAccess({
        cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': data(caPem) },
        user: { token: 'sa-token' },
      }),
    );
    assert.deepEqual(await trusted.request('GET', '/version'), { major: '1', minor: '37' });
    assert.deepEqual(authorizations, ['Bearer sa-token']);
    const wrongCa = { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': data(otherCaPem) };
    await assert.rejects(new ApiServer(apiServerAccess({ cluster: wrongCa, user: {} })).request('GET', '/version'), /certificate/);
    const skipped = new ApiServer(apiServerAccess({ cluster: { ...wrongCa, 'insecure-skip-tls-verify': true }, user: {} }));
    assert.deepEqual(await skipped.request('GET', '/version'), { major: '1', minor: '37' });
  });

  test('tls-server-name is the name the certificate is checked against', async () => {
    const cluster = { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': data(caPem) };
    const named = new ApiServer(apiServerAccess({ cluster: { ...cluster, 'tls-server-name': 'localhost' }, user: {} }));
    assert.deepEqual(await named.request('GET', '/version'), { major: '1', minor: '37' });
    const misnamed = new ApiServer(apiServerAccess({ cluster: { ...cluster, 'tls-server-name': 'api.elsewhere' }, user: {} }));
    await assert.rejects(misnamed.request('GET', '/version'), /altnames|api\.elsewhere/);
  });
});
