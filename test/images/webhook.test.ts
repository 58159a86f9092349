import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import request from 'supertest';
import { createImageLookup } from '../../src/cli/images.js';
import type { NamespaceLabelSource } from '../../src/engine/exceptions.js';
import { ImageInspector } from '../../src/images/inspector.js';
import { createRegistryMetrics } from '../../src/images/metrics.js';
import { createMetrics } from '../../src/server/metrics.js';
import { makeApp, pod, review, workload, type Json } from '../server/helpers.js';
import { ensureRegistryInstalled, pushImage, startRegistry, startSilentServer, type RunningRegistry } from './harness.js';

let registry: RunningRegistry;
let silent: { host: string; stop(): Promise<void> };

/** A container the other rules accept, with no `command`: its image decides PID 1. */
function container(image: string, extra: Json = {}): Json {
  return { name: 'web', image, readinessProbe: { tcpSocket: { port: 8080 } }, ...extra };
}

function webhook(policy: Json = {}, deps: { namespaces?: NamespaceLabelSource } = {}) {
  const metrics = createMetrics();
  const inspector = new ImageInspector({ ca: registry.ca, metrics: createRegistryMetrics(metrics.registry) });
  return makeApp(policy, { ...deps, metrics, lookUpImages: createImageLookup({ inspector, logger: pino({ level: 'silent' }) }) });
}

async function validate(app: ReturnType<typeof webhook>['app'], object: Json) {
  const reply = await request(app).post('/validate').send(review(object)).expect(200);
  return reply.body.response as {
    allowed: boolean;
    status?: { message: string };
    warnings?: string[];
    auditAnnotations?: Record<string, string>;
  };
}

before(async () => {
  ensureRegistryInstalled();
  [registry, silent] = await Promise.all([startRegistry('token'), startSilentServer()]);
  await pushImage(registry, 'shop/web', '1', { entrypoint: ['/bin/sh', '-c', 'node server.js'] });
  await pushImage(registry, 'shop/api', '1', { entrypoint: ['node'], cmd: ['server.js'] });
});

after(async () => {
  await Promise.all([registry?.stop(), silent?.stop()]);
});

describe('webhook: image inspection before /validate decides', () => {
  test('a Deployment without `command` whose image has a shell-form ENTRYPOINT is denied, naming the image and the Dockerfile fix', async () => {
    const image = `${registry.host}/shop/web:1`;
    const response = await validate(webhook().app, workload('Deployment', [container(image)]));
    assert.equal(response.allowed, false);
    assert.match(
      response.status?.message ?? '',
      new RegExp(`from image ${image} \\(sha256:[0-9a-f]{12}, linux/amd64\\), Dockerfile \`ENTRYPOINT node server\\.js\` \\(shell form\\)`),
    );
    assert.match(response.status?.message ?? '', /Fix: In the Dockerfile of .*write `ENTRYPOINT \["node", "server\.js"\]`/);
  });

  test('the same image with `command` overriding it is admitted; an exec-form image is admitted', async () => {
    const { app } = webhook();
    assert.equal(
      (await validate(app, workload('Deployment', [container(`${registry.host}/shop/web:1`, { command: ['node', 'server.js'] })]))).allowed,
      true,
    );
    assert.equal((await validate(app, workload('Deployment', [container(`${registry.host}/shop/api:1`)]))).allowed, true);
  });

  test("a namespace an exception lifts no-shell-entrypoint for is not looked up: the lookup sees the decision's selection", async () => {
    // The registry never answers: a lookup would show as an annotation and a timeout in the metrics.
    const policy = {
      exceptions: [{ rules: ['no-shell-entrypoint'], namespaceSelector: { matchLabels: { env: 'sandbox' } } }],
      rules: { 'no-shell-entrypoint': { images: { timeout: '200ms' } } },
    };
    const labels: Record<string, Record<string, string>> = { default: { env: 'sandbox' } };
    const { app, metrics } = webhook(policy, { namespaces: { labels: (namespace: string) => labels[namespace], all: () => labels } });
    const response = await validate(app, pod([container(`${silent.host}/shop/web:1`)]));
    assert.equal(response.allowed, true);
    assert.equal(response.auditAnnotations?.['images-not-inspected'], undefined);
    assert.doesNotMatch(await metrics.registry.metrics(), /lifecycle_guard_image_inspections_total\{/);

    labels.default = { env: 'production' };
    const looked = await validate(app, pod([container(`${silent.host}/shop/web:1`)]));
    assert.match(looked.auditAnnotations?.['images-not-inspected'] ?? '', /no answer within the 200ms budget/);
  });

  test('a registry that never answers: admitted within the budget plus a margin, the reason audited and counted, no warning by default', async () => {
    const { app, metrics } = webhook({ rules: { 'no-shell-entrypoint': { images: { timeout: '400ms' } } } });
    const started = performance.now();
    const response = await validate(app, pod([container(`${silent.host}/shop/web:1`)]));
    const elapsed = performance.now() - started;
    assert.equal(response.allowed, true);
    assert.ok(elapsed < 400 + 500, `answered after ${Math.round(elapsed)}ms`);
    assert.match(
      response.auditAnnotations?.['images-not-inspected'] ?? '',
      new RegExp(`${silent.host}/shop/web:1: no answer within the 400ms budget`),
    );
    assert.equal(response.warnings, undefined);
    assert.match(await metrics.registry.metrics(), /lifecycle_guard_image_inspections_total\{outcome="timeout"\} 1/);
  });

  test('warnUninspected: kubectl shows a warning for an image that could not be inspected', async () => {
    const { app } = webhook({ rules: { 'no-shell-entrypoint': { images: { warnUninspected: true } } } });
    const response = await validate(app, pod([container(`${registry.host}/shop/web:missing`)]));
    assert.equal(response.allowed, true);
    assert.equal(response.warnings?.length, 1);
    assert.match(response.warnings?.[0] ?? '', /image not inspected.*shop\/web:missing.*not found/);
  });

  test('inspect: false turns the lookup off: the registry is not asked', async () => {
    const { app, metrics } = webhook({ rules: { 'no-shell-entrypoint': { images: { inspect: false } } } });
    assert.equal((await validate(app, pod([container(`${registry.host}/shop/web:1`)]))).allowed, true);
    assert.doesNotMatch(await metrics.registry.metrics(), /lifecycle_guard_registry_requests_total\{/);
  });

  test('the rule off, or the namespace excluded: nothing is looked up', async () => {
    const { app, metrics } = webhook({ rules: { 'no-shell-entrypoint': { mode: 'off' } }, exclude: { namespaces: ['kube-system'] } });
    await validate(app, pod([container(`${registry.host}/shop/web:1`)]));
    const { app: excludedApp, metrics: excludedMetrics } = webhook({ exclude: { namespaces: ['default'] } });
    assert.equal((await validate(excludedApp, pod([container(`${registry.host}/shop/web:1`)]))).allowed, true);
    for (const registryMetrics of [metrics, excludedMetrics])
      assert.doesNotMatch(await registryMetrics.registry.metrics(), /lifecycle_guard_registry_requests_total\{/);
  });
});
