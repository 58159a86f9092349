// What the webhook port offers, as an outside client sees it with `openssl s_client`: TLS 1.2 only with
// ECDHE AEAD suites (optionally TLS 1.3 only), and no more connections than maxConnections.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect, type TLSSocket } from 'node:tls';
import { badContainer, pod, review } from './helpers.js';
import { httpsCall, startTlsServer, type TlsServer } from './tls-harness.js';

/** The suite negotiated by `openssl s_client`, or undefined when the handshake fails. Asynchronous: the server runs in this process. */
function negotiate(port: number, args: string[]): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
      { timeout: 10_000 },
      (error, stdout) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`openssl s_client could not run: ${error.message}`));
          return;
        }
        const cipher = /Cipher is (\S+)/.exec(stdout)?.[1];
        resolve(error === null && cipher !== undefined && cipher !== '(NONE)' ? cipher : undefined);
      },
    );
    child.stdin?.end();
  });
}

const tls12 = (cipher: string) => ['-tls1_2', '-cipher', `${cipher}:@SECLEVEL=0`];

describe('TLS 1.2 cipher suites', () => {
  let target: TlsServer;
  before(async () => {
    target = await startTlsServer();
  });
  after(() => target.stop());

  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    test(`accepts ${cipher}`, async () => {
      assert.equal(await negotiate(target.server.port, tls12(cipher)), cipher);
    });
  }

  // CBC with SHA-1 or SHA-256 MACs, CCM with an 8-byte tag, ARIA: all in Node's default list.
  for (const cipher of [
    'ECDHE-ECDSA-AES128-SHA',
    'ECDHE-ECDSA-AES256-SHA384',
    'ECDHE-ECDSA-AES128-CCM8',
    'ECDHE-ECDSA-AES256-CCM',
    'ECDHE-ECDSA-ARIA128-GCM-SHA256',
  ]) {
    test(`refuses ${cipher}`, async () => {
      assert.equal(await negotiate(target.server.port, tls12(cipher)), undefined);
    });
  }

  test('TLS 1.3 is accepted', async () => {
    assert.match(
      String(await negotiate(target.server.port, ['-tls1_3'])),
      /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/,
    );
  });
});

describe('tlsMinVersion TLSv1.3', () => {
  let target: TlsServer;
  before(async () => {
    target = await startTlsServer({ tlsMinVersion: 'TLSv1.3' });
  });
  after(() => target.stop());

  test('refuses TLS 1.2 and accepts TLS 1.3', async () => {
    assert.equal(await negotiate(target.server.port, tls12('ECDHE-ECDSA-AES128-GCM-SHA256')), undefined);
    assert.ok((await negotiate(target.server.port, ['-tls1_3']))?.startsWith('TLS_'));
  });
});

/** A TLS connection that completes its handshake (resolves) or is dropped first (rejects). */
function connectTo(server: TlsServer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.server.port, ca: server.ca, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake')));
  });
}

describe('connections', () => {
  let target: TlsServer;
  before(async () => {
    target = await startTlsServer({ maxConnections: 4 });
  });
  after(() => target.stop());

  const handshake = () => connectTo(target);

  test('a connection that sends nothing after the handshake is closed after the headers timeout; a slow decision is not', async () => {
    const quiet = await startTlsServer({ requestTimeoutMs: 1000 });
    try {
      // Seconds of deciding, well past the 1 s timeout, on a connection that is silent meanwhile.
      const slow = JSON.stringify(review(pod(Array.from({ length: 30_000 }, (_, index) => badContainer(`c${index}`)))));
      assert.equal((await httpsCall(quiet, 'POST', '/validate', slow)).status, 200);

      const socket = await connectTo(quiet);
      const closed = new Promise((resolve) => socket.once('close', () => resolve('closed')));
      const deadline = new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000).unref());
      const outcome = await Promise.race([closed, deadline]);
      socket.destroy();
      assert.equal(outcome, 'closed');
    } finally {
      await quiet.stop();
    }
  });

  test('connections past the cap are dropped; a freed slot is usable again', async () => {
    const open = await Promise.all([handshake(), handshake(), handshake(), handshake()]);
    await assert.rejects(handshake());
    open.pop()?.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    open.push(await handshake());
    for (const socket of open) socket.destroy();
  });
});
