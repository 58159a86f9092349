import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Policy } from '../../src/engine/policy.js';
import { createClients } from '../../src/kube/client.js';
import { PolicyConfigMapWatcher } from '../../src/kube/policy-configmap.js';

/** A fake API server on loopback that can be switched between down (connections reset) and up. */
class FakeApiServer {
  up = false;
  configMap: Record<string, unknown> | undefined;
  /** Sent as a DELETED event to the next watch, as the API server does for a watch from before the deletion. */
  deleted: Record<string, unknown> | undefined;
  lists = 0;
  readonly #watches = new Set<ServerResponse>();
  readonly server: Server = createServer((request, response) => {
    if (!this.up) {
      request.socket.destroy();
      return;
    }
    response.setHeader('content-type', 'application/json');
    if (new URL(request.url ?? '/', 'http://x').searchParams.get('watch') === 'true') {
      this.#watches.add(response);
      response.on('close', () => this.#watches.delete(response));
      response.flushHeaders();
      if (this.deleted) response.write(`${JSON.stringify({ type: 'DELETED', object: this.deleted })}\n`);
      return;
    }
    this.lists += 1;
    response.end(
      JSON.stringify({
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.lists) },
        items: this.configMap ? [this.configMap] : [],
      }),
    );
  });

  /** Down: open watches are cut and new connections reset. */
  down(): void {
    this.up = false;
    for (const watch of this.#watches) watch.destroy();
  }
}

function kubeConfig(port: number): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return config;
}

function recordingLogger(lines: string[]): Logger {
  const record = (_fields: unknown, message?: string) => void lines.push(message ?? '');
  return { info: record, warn: record, error: record } as unknown as Logger;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 5000) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('an unreachable API server is not a missing ConfigMap: retried with backoff, and the last good policy stays', async () => {
  const api = new FakeApiServer();
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
  const lines: string[] = [];
  const policies: { policy: Policy; source: string }[] = [];
  const watcher = new PolicyConfigMapWatcher(createClients(kubeConfig((api.server.address() as AddressInfo).port)), {
    namespace: 'lifecycle-guard',
    name: 'lifecycle-guard-policy',
    logger: recordingLogger(lines),
    onPolicy: (policy, source) => policies.push({ policy, source }),
    onInvalid: () => assert.fail('no policy was invalid'),
    retryMs: 40,
    maxRetryMs: 160,
  });
  after(async () => {
    await watcher.stop();
    api.server.close();
    api.server.closeAllConnections();
  });

  // Down at start: unreachable, nothing applied (the server keeps the default it started with).
  await watcher.start();
  assert.equal(policies.length, 0);
  assert.doesNotMatch(lines.join('\n'), /not found/);
  assert.match(
    lines[0] ?? '',
    /^cannot read policy ConfigMap lifecycle-guard\/lifecycle-guard-policy: the API server is unreachable \(.+\); the built-in default policy applies until it can be read; retrying in 0\.04s$/,
  );
  await until(() => lines.length >= 3, 'two retries');
  assert.match(lines[1] ?? '', /retrying in 0\.08s$/, 'the delay doubles');
  assert.match(lines[2] ?? '', /retrying in 0\.16s$/);

  // Up: the policy is read.
  api.configMap = {
    metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard', resourceVersion: '7' },
    data: { 'policy.yaml': 'mode: audit\n' },
  };
  api.up = true;
  await until(() => policies.length === 1, 'the policy');
  assert.equal(policies[0]?.policy.mode, 'audit');

  // Down again: the last good policy stays, and the log says so.
  const before = lines.length;
  api.down();
  await until(() => lines.slice(before).some((line) => line.startsWith('cannot read')), 'the failure log');
  assert.match(
    lines.slice(before).find((line) => line.startsWith('cannot read')) ?? '',
    /unreachable.*the last good policy stays in force; retrying in 0\.04s$/,
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(policies.length, 1, 'no fallback to the default while unreachable');

  // Up, and the ConfigMap is gone for real: now the default applies, and the log says it is missing.
  api.deleted = { ...api.configMap, metadata: { name: 'lifecycle-guard-policy', namespace: 'lifecycle-guard', resourceVersion: '9' } };
  api.configMap = undefined;
  api.up = true;
  await until(() => policies.length === 2, 'the default policy');
  assert.equal(policies[1]?.source, 'built-in default');
  assert.ok(lines.some((line) => line === 'policy ConfigMap not found: using the built-in default policy'));
});
