// Kubeconfigs as lifecycle-guard reads them: kubectl's merge rules, paths relative to their file, the
// in-cluster service account, what the own client applies to a request, and what it leaves to
// @kubernetes/client-node.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  apiServerAccess,
  inClusterSelection,
  needsClientNode,
  NoKubeConfigError,
  selectFromKubeConfigFiles,
  selectKubeConfig,
} from '../../src/kube/kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'lg-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, content: unknown): string {
  const file = join(dir, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const config = (name: string, extra: { cluster?: object; user?: object; current?: string } = {}) => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name, cluster: { server: `https://${name}.example:6443`, ...extra.cluster } }],
  users: [{ name, user: { token: `${name}-token`, ...extra.user } }],
  contexts: [{ name, context: { cluster: name, user: name } }],
  ...(extra.current === undefined ? {} : { 'current-context': extra.current }),
});

async function applied(access: {
  apply(options: RequestOptions): Promise<void>;
}): Promise<RequestOptions & { headers: Record<string, string> }> {
  const options: RequestOptions = { headers: { accept: 'application/json' } };
  await access.apply(options);
  return options as RequestOptions & { headers: Record<string, string> };
}

describe('selecting from kubeconfig files', () => {
  test('merged as kubectl does: the first file to name an entry, and the first current-context, win', () => {
    const first = write('merge/first', { ...config('a'), 'current-context': 'b', users: [{ name: 'b', user: { token: 'first-b' } }] });
    const second = write('merge/second', { ...config('b', { current: 'a' }) });
    const { cluster, user } = selectFromKubeConfigFiles([first, second]);
    assert.equal(cluster.server, 'https://b.example:6443', 'context b comes from the second file');
    assert.equal(user.token, 'first-b', 'user b of the first file wins over the second');
  });

  test('file paths are resolved against the directory of the file that holds them; absolute ones are kept', () => {
    const file = write(
      'paths/nested/config',
      config('p', { current: 'p', cluster: { 'certificate-authority': 'ca.crt' }, user: { tokenFile: '/abs/token' } }),
    );
    const { cluster, user } = selectFromKubeConfigFiles([file]);
    assert.equal(cluster['certificate-authority'], join(dir, 'paths/nested/ca.crt'));
    assert.equal(user.tokenFile, '/abs/token');
  });

  test('a broken selection names what is missing', () => {
    assert.throws(() => selectFromKubeConfigFiles([write('broken/none', config('n'))]), /current-context is not set/);
    assert.throws(
      () => selectFromKubeConfigFiles([write('broken/context', config('n', { current: 'other' }))]),
      /context "other" not found/,
    );
    const noCluster = { ...config('n', { current: 'n' }), clusters: [] };
    assert.throws(() => selectFromKubeConfigFiles([write('broken/cluster', noCluster)]), /cluster "n" of context "n" not found/);
    assert.throws(
      () => selectFromKubeConfigFiles([write('broken/server', config('n', { current: 'n', cluster: { server: '' } }))]),
      /has no server/,
    );
    assert.throws(() => selectFromKubeConfigFiles([write('broken/list', { clusters: { name: 'x' } })]), /clusters is not a list/);
    assert.throws(() => selectFromKubeConfigFiles([write('broken/yaml', 'clusters: [')]));
  });

  test('$KUBECONFIG: missing files are skipped, all of them missing is no kubeconfig', () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    try {
      process.env.HOME = join(dir, 'no-home');
      process.env.KUBECONFIG = [join(dir, 'missing'), write('env/config', config('e', { current: 'e' }))].join(':');
      assert.equal(selectKubeConfig().cluster.server, 'https://e.example:6443');
      process.env.KUBECONFIG = join(dir, 'missing');
      assert.throws(
        () => selectKubeConfig(),
        (error) => error instanceof NoKubeConfigError && /missing/.test(error.message),
      );
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test('the in-cluster service account: the service address (IPv6 in brackets), its CA and its token file', () => {
    const selection = inClusterSelection({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, '/sa');
    assert.deepEqual(selection, {
      cluster: { server: 'https://[fd00::1]:443', 'certificate-authority': '/sa/ca.crt' },
      user: { tokenFile: '/sa/token' },
    });
    assert.throws(() => inClusterSelection({}, '/sa'), /KUBERNETES_SERVICE_HOST/);
  });
});

describe('what a request gets', () => {
  test('tokens, certificates and the CA are applied by the own client; exec, auth providers, basic auth and proxies are not', () => {
    const cluster = { server: 'https://x' };
    assert.equal(
      needsClientNode({ cluster: { ...cluster, 'certificate-authority-data': 'Y2E=', extensions: [] }, user: { token: 't' } }),
      false,
    );
    assert.equal(needsClientNode({ cluster, user: { 'client-certificate': '/c', 'client-key': '/k' } }), false);
    assert.equal(needsClientNode({ cluster, user: { exec: { command: 'aws' } } }), true);
    assert.equal(needsClientNode({ cluster, user: { 'auth-provider': { name: 'oidc' } } }), true);
    assert.equal(needsClientNode({ cluster, user: { username: 'ann', password: 'p' } }), true);
    assert.equal(needsClientNode({ cluster: { ...cluster, 'proxy-url': 'http://proxy:3128' }, user: {} }), true);
  });

  test('inline data and files, the server name and skipped verification', async () => {
    const key = write('tls/client.key', 'KEY');
    const options = await applied(
      apiServerAccess({
        cluster: {
          server: 'https://x:6443/',
          'certificate-authority-data': Buffer.from('CA').toString('base64'),
          'tls-server-name': 'api.internal',
        },
        user: { 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key': key },
      }),
    );
    assert.equal((options.ca as Buffer).toString(), 'CA');
    assert.equal((options.cert as Buffer).toString(), 'CERT');
    assert.equal((options.key as Buffer).toString(), 'KEY');
    assert.equal(options.servername, 'api.internal');
    assert.equal(options.rejectUnauthorized, undefined);
    assert.deepEqual(options.headers, { accept: 'application/json' }, 'no credentials: no authorization header');
    const insecure = await applied(
      apiServerAccess({ cluster: { server: 'https://x', 'insecure-skip-tls-verify': true }, user: { token: 'abc' } }),
    );
    assert.equal(insecure.rejectUnauthorized, false);
    assert.deepEqual(insecure.headers, { accept: 'application/json', authorization: 'Bearer abc' });
    assert.equal(apiServerAccess({ cluster: { server: 'https://x:6443/' }, user: {} }).server, 'https://x:6443');
  });

  test('a token file is read at start and again once a minute, as the kubelet rotates it; a moment unreadable keeps the last token', async () => {
    const tokenFile = write('token/file', 'first\n');
    let now = 0;
    const access = apiServerAccess({ cluster: { server: 'https://x' }, user: { tokenFile } }, () => now);
    writeFileSync(tokenFile, 'second');
    now = 59_000;
    assert.equal((await applied(access)).headers.authorization, 'Bearer first');
    now = 60_000;
    assert.equal((await applied(access)).headers.authorization, 'Bearer second');
    rmSync(tokenFile);
    now = 120_000;
    assert.equal((await applied(access)).headers.authorization, 'Bearer second', 'unreadable for a moment: the last token stays');
    writeFileSync(tokenFile, 'third');
    now = 121_000;
    assert.equal((await applied(access)).headers.authorization, 'Bearer third', 'read again at the next request');
    assert.throws(() => apiServerAccess({ cluster: { server: 'https://x' }, user: { tokenFile: join(dir, 'no-token') } }), /ENOENT/);
  });

  test('what the own client does not do goes to client-node, with the entries as written', async () => {
    const access = apiServerAccess({
      cluster: { server: 'https://x', 'insecure-skip-tls-verify': true },
      user: { username: 'ann', password: 'secret' },
    });
    const options = await applied(access);
    assert.equal(options.auth, 'ann:secret');
    assert.equal(options.rejectUnauthorized, false);
  });
});
