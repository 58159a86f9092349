// Lists as the scan reads them, against a loopback API server: objects are handed over one by one as
// their bytes arrive (never a whole page first), pages follow `continue` with the asked `limit`, and
// a refusal or a cut-short response is an error, never a shorter list.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { isStatus } from '../../src/kube/client.js';
import { loopbackClients } from './loopback-clients.js';

const pod = (name: string) => ({ metadata: { name, namespace: 'shop' }, spec: { containers: [{ name: 'app', image: 'x' }] } });
const DISCOVERY = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [{ name: 'pods', kind: 'Pod', namespaced: true, singularName: 'pod', verbs: ['list'] }],
};

describe('StreamedLists against a loopback API server', () => {
  let server: Server;
  let handle: (url: URL, res: ServerResponse) => void = () => undefined;
  const listed: string[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/v1') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(DISCOVERY));
      listed.push(`${url.pathname}?${url.searchParams}`);
      return handle(url, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const clients = () => loopbackClients(server);

  // A client that waited for the whole page would wait here for good: the timeout turns that into a failure.
  test('hands each object over as it arrives, then follows continue with the same limit', { timeout: 20_000 }, async () => {
    listed.length = 0;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let firstEnded = false;
    handle = (url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('continue') === 'page-2')
        return res.end(JSON.stringify({ kind: 'PodList', metadata: {}, items: [pod('c')] }));
      res.write(`{"kind":"PodList","metadata":{"continue":"page-2"},"items":[${JSON.stringify(pod('a'))},`);
      void released.then(() => {
        firstEnded = true;
        res.end(`${JSON.stringify(pod('b'))}]}`);
      });
    };
    const objects = clients().objects.listObjects('v1', 'Pod', 'shop', 2);
    const first = await objects.next();
    assert.deepEqual(first.value, pod('a'));
    assert.equal(firstEnded, false, 'the first object came before the rest of its page was sent');
    release();
    const rest: unknown[] = [];
    for await (const object of objects) rest.push(object);
    assert.deepEqual(rest, [pod('b'), pod('c')]);
    assert.deepEqual(listed, ['/api/v1/namespaces/shop/pods?limit=2', '/api/v1/namespaces/shop/pods?limit=2&continue=page-2']);
  });

  test('a refusal is an ApiException with its status', async () => {
    handle = (_url, res) => res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 403 }));
    await assert.rejects(
      async () => {
        for await (const object of clients().objects.listObjects('v1', 'Pod', undefined, 10)) assert.fail(`unexpected ${String(object)}`);
      },
      (error) => isStatus(error, 403),
    );
  });

  test('a response cut short is an error, not a shorter list', async () => {
    handle = (_url, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"kind":"PodList","metadata":{},"items":[${JSON.stringify(pod('a'))},{"metadata":`);
    };
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const object of clients().objects.listObjects('v1', 'Pod', undefined, 10)) seen.push(object);
    });
    assert.deepEqual(seen, [pod('a')]);
  });
});
