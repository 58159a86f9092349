import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import type { ImageInspection } from '../../src/core/images.js';
import { evaluateObject } from '../../src/engine/evaluate.js';
import { DEFAULT_POLICY } from '../../src/engine/policy.js';
import { imageSettings, ImageInspector } from '../../src/images/inspector.js';
import { createRegistryMetrics, type RegistryMetrics } from '../../src/images/metrics.js';
import type { ImageInspectionParams } from '../../src/rules/no-shell-entrypoint.js';
import { pod } from '../rules/helpers.js';
import { ensureRegistryInstalled, pushImage, pushIndex, startRegistry, startSilentServer, USER, type RunningRegistry } from './harness.js';

const DEFAULTS = imageSettings(DEFAULT_POLICY);
const SHELL_ENTRYPOINT = { entrypoint: ['/bin/sh', '-c', 'node server.js'] };

let bearer: RunningRegistry;
let basic: RunningRegistry;
let dir: string;
let dockerConfig: string;
const digests: Record<string, string> = {};

function settings(
  extra: Partial<ImageInspectionParams> = {},
  registries: Partial<ImageInspectionParams['registries']> = {},
): ImageInspectionParams {
  return { ...DEFAULTS, timeout: 10_000, ...extra, registries: { ...DEFAULTS.registries, ...registries } };
}

function inspector(metrics?: RegistryMetrics): ImageInspector {
  return new ImageInspector({ ca: bearer.ca, ...(metrics === undefined ? {} : { metrics }) });
}

async function inspectOne(
  image: string,
  options: { settings?: ImageInspectionParams; inspector?: ImageInspector } = {},
): Promise<ImageInspection> {
  const facts = await (options.inspector ?? inspector()).inspect([image], options.settings ?? settings());
  const inspection = facts.get(image);
  assert.ok(inspection, `no result for ${image}`);
  return inspection;
}

function inspected(inspection: ImageInspection) {
  assert.equal(inspection.status, 'inspected', inspection.status === 'uninspected' ? inspection.reason : '');
  return inspection;
}

async function requestCount(metrics: RegistryMetrics): Promise<number> {
  return (await metrics.requests.get()).values.reduce((sum, value) => sum + value.value, 0);
}

before(async () => {
  ensureRegistryInstalled();
  [bearer, basic] = await Promise.all([startRegistry('token'), startRegistry('htpasswd')]);
  digests.shell = (await pushImage(bearer, 'shop/shell-entrypoint', '1', SHELL_ENTRYPOINT)).digest;
  await pushImage(bearer, 'shop/shell-cmd', '1', { cmd: ['/bin/sh', '-c', '/app/server --port 80'] });
  await pushImage(bearer, 'shop/exec', '1', { entrypoint: ['/app/server'], cmd: ['--port', '80'] });
  await pushImage(bearer, 'shop/entrypoint-script', '1', {
    entrypoint: ['/docker-entrypoint.sh'],
    cmd: ['/bin/sh', '-c', 'nginx -g "daemon off;"'],
  });
  digests.index = (
    await pushIndex(bearer, 'shop/multi', '1', [
      { entrypoint: ['/app/server'], architecture: 'amd64' },
      { ...SHELL_ENTRYPOINT, architecture: 'arm64' },
      { architecture: 'unknown' },
    ])
  ).digest;
  await pushIndex(
    bearer,
    'shop/docker-list',
    '1',
    [
      { cmd: ['/bin/sh', '-c', 'x'], architecture: 'amd64' },
      { cmd: ['/bin/sh', '-c', 'x'], architecture: 'arm64' },
    ],
    'docker',
  );
  await pushImage(bearer, 'private/app', '1', SHELL_ENTRYPOINT);
  await pushImage(basic, 'team/private', '1', SHELL_ENTRYPOINT, 'docker');
  dir = mkdtempSync(join(tmpdir(), 'lg-docker-config-'));
  dockerConfig = join(dir, 'config.json');
  const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  writeFileSync(dockerConfig, JSON.stringify({ auths: { [basic.host]: { auth }, [`https://${bearer.host}`]: { auth } } }));
});

after(async () => {
  await Promise.all([bearer?.stop(), basic?.stop()]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('registry client against a real Distribution registry', () => {
  test('bearer flow: a shell-form ENTRYPOINT, with the digest the registry stored', async () => {
    const before = bearer.tokenServer?.requests ?? 0;
    const result = inspected(await inspectOne(`${bearer.host}/shop/shell-entrypoint:1`));
    assert.equal(result.digest, digests.shell);
    assert.deepEqual(
      result.platforms.map(({ platform, entrypoint, cmd }) => ({ platform, entrypoint, cmd })),
      [{ platform: 'linux/amd64', entrypoint: ['/bin/sh', '-c', 'node server.js'], cmd: [] }],
    );
    assert.ok((bearer.tokenServer?.requests ?? 0) > before, 'the token endpoint was asked');
  });

  test('a shell-form CMD only, an exec form, and an exec ENTRYPOINT with a shell-form CMD', async () => {
    assert.deepEqual(inspected(await inspectOne(`${bearer.host}/shop/shell-cmd:1`)).platforms[0]?.cmd, [
      '/bin/sh',
      '-c',
      '/app/server --port 80',
    ]);
    const exec = inspected(await inspectOne(`${bearer.host}/shop/exec:1`)).platforms[0];
    assert.deepEqual([exec?.entrypoint, exec?.cmd], [['/app/server'], ['--port', '80']]);
    const script = inspected(await inspectOne(`${bearer.host}/shop/entrypoint-script:1`)).platforms[0];
    assert.deepEqual([script?.entrypoint, script?.cmd], [['/docker-entrypoint.sh'], ['/bin/sh', '-c', 'nginx -g "daemon off;"']]);
  });

  test('an OCI index: every linux platform, attestation manifests left out; `platforms` narrows it', async () => {
    const all = inspected(await inspectOne(`${bearer.host}/shop/multi:1`));
    assert.equal(all.digest, digests.index);
    assert.deepEqual(
      all.platforms.map(({ platform, entrypoint }) => [platform, entrypoint]),
      [
        ['linux/amd64', ['/app/server']],
        ['linux/arm64', ['/bin/sh', '-c', 'node server.js']],
      ],
    );
    assert.notEqual(all.platforms[0]?.digest, all.platforms[1]?.digest);
    const amd64 = inspected(await inspectOne(`${bearer.host}/shop/multi:1`, { settings: settings({ platforms: ['linux/amd64'] }) }));
    assert.deepEqual(
      amd64.platforms.map(({ platform }) => platform),
      ['linux/amd64'],
    );
  });

  test('a Docker v2 manifest list', async () => {
    const list = inspected(await inspectOne(`${bearer.host}/shop/docker-list:1`));
    assert.deepEqual(
      list.platforms.map(({ platform, cmd }) => [platform, cmd]),
      [
        ['linux/amd64', ['/bin/sh', '-c', 'x']],
        ['linux/arm64', ['/bin/sh', '-c', 'x']],
      ],
    );
  });

  test('by digest: the pinned manifest is fetched and verified', async () => {
    const pinned = inspected(await inspectOne(`${bearer.host}/shop/shell-entrypoint@${digests.shell}`));
    assert.equal(pinned.digest, digests.shell);
  });

  test('a tag that does not exist: not inspected, and the reason says so', async () => {
    const missing = await inspectOne(`${bearer.host}/shop/exec:nope`);
    assert.equal(missing.status, 'uninspected');
    assert.match(missing.status === 'uninspected' ? missing.reason : '', /not found/);
  });

  test('private images: refused without credentials, inspected with the docker config file (basic and bearer)', async () => {
    for (const image of [`${basic.host}/team/private:1`, `${bearer.host}/private/app:1`]) {
      const refused = await inspectOne(image);
      assert.equal(refused.status, 'uninspected', image);
      assert.match(refused.status === 'uninspected' ? refused.reason : '', /refused access|asks for credentials/);
      const allowed = inspected(await inspectOne(image, { settings: settings({}, { credentials: dockerConfig }) }));
      assert.deepEqual(allowed.platforms[0]?.entrypoint, SHELL_ENTRYPOINT.entrypoint);
    }
  });

  test('a credentials file that changes (a rotated Secret) is read again', async () => {
    const file = join(dir, 'rotating.json');
    const shared = inspector();
    const image = `${basic.host}/team/private:1`;
    const withConfig = settings({}, { credentials: file });
    writeFileSync(file, JSON.stringify({ auths: { [basic.host]: { username: USER.username, password: 'old' } } }));
    utimesSync(file, new Date(1_000_000), new Date(1_000_000));
    assert.equal((await shared.inspect([image], withConfig)).get(image)?.status, 'uninspected');
    writeFileSync(file, JSON.stringify({ auths: { [basic.host]: USER } }));
    assert.equal((await shared.inspect([image], withConfig)).get(image)?.status, 'inspected');
  });

  test('what a pull secret may read is not served from the cache to a request without it', async () => {
    const shared = inspector();
    const image = `${basic.host}/team/private:1`;
    const withSecret = await shared.inspect([image], settings(), { credentials: new Map([[basic.host, USER]]) });
    assert.equal(withSecret.get(image)?.status, 'inspected');
    const without = await shared.inspect([image], settings());
    assert.equal(without.get(image)?.status, 'uninspected');
  });

  test('a registry that never answers: the answer arrives within the budget plus a small margin, with the reason', async () => {
    const silent = await startSilentServer();
    try {
      const started = performance.now();
      const result = await inspectOne(`${silent.host}/shop/app:1`, { settings: settings({ timeout: 300 }) });
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 300 + 500, `answered after ${Math.round(elapsed)}ms`);
      assert.ok(elapsed >= 290, `gave up early, after ${Math.round(elapsed)}ms`);
      assert.deepEqual(result, {
        status: 'uninspected',
        reference: `${silent.host}/shop/app:1`,
        reason: 'no answer within the 300ms budget',
      });
    } finally {
      await silent.stop();
    }
  });

  test('a mirror named in the policy is asked first; the registry itself is never reached', async () => {
    const unreachable = await startSilentServer();
    try {
      const image = `${unreachable.host}/shop/shell-entrypoint:1`;
      const mirrored = inspected(
        await inspectOne(image, { settings: settings({ timeout: 5000 }, { mirrors: { [unreachable.host]: [bearer.host] } }) }),
      );
      assert.equal(mirrored.digest, digests.shell);
    } finally {
      await unreachable.stop();
    }
  });

  test('plain HTTP only for registries the policy lists as insecure', async () => {
    const plain = await startRegistry('plain-http');
    try {
      await pushImage(plain, 'shop/app', '1', SHELL_ENTRYPOINT);
      const image = `${plain.host}/shop/app:1`;
      assert.equal((await inspectOne(image)).status, 'uninspected', 'HTTPS is not downgraded on its own');
      const overHttp = inspected(await inspectOne(image, { settings: settings({}, { insecure: [plain.host] }) }));
      assert.deepEqual(overHttp.platforms[0]?.entrypoint, SHELL_ENTRYPOINT.entrypoint);
    } finally {
      await plain.stop();
    }
  });

  test('one call looks up at most 32 images; the rest are reported as not inspected, with why', async () => {
    const silent = await startSilentServer();
    try {
      const images = Array.from({ length: 33 }, (_, index) => `${silent.host}/shop/app:${index}`);
      const facts = await inspector().inspect(images, settings({ timeout: 200 }));
      const reasons = images.map((image) => {
        const inspection = facts.get(image);
        return inspection?.status === 'uninspected' ? inspection.reason : '';
      });
      assert.equal(reasons.filter((reason) => reason === 'no answer within the 200ms budget').length, 32);
      assert.equal(reasons[32], 'more than 32 images to look up at once');
    } finally {
      await silent.stop();
    }
  });

  test('the second inspection is a cache hit: no registry call at all', async () => {
    const metrics = createRegistryMetrics(new Registry());
    const shared = inspector(metrics);
    await inspectOne(`${bearer.host}/shop/multi:1`, { inspector: shared });
    const calls = await requestCount(metrics);
    assert.ok(calls > 0);
    const again = inspected(await inspectOne(`${bearer.host}/shop/multi:1`, { inspector: shared }));
    assert.equal(again.platforms.length, 2);
    assert.equal(await requestCount(metrics), calls, 'no new registry request');
    assert.ok((await metrics.cacheHits.get()).values.some((value) => value.labels.cache === 'tag' && value.value >= 1));
  });

  test('concurrent inspections of one image share one fetch', async () => {
    const image = `${bearer.host}/shop/shell-cmd:1`;
    const alone = createRegistryMetrics(new Registry());
    await inspector(alone).inspect([image], settings());
    const together = createRegistryMetrics(new Registry());
    const both = inspector(together);
    await Promise.all([both.inspect([image], settings()), both.inspect([image], settings())]);
    assert.equal(await requestCount(together), await requestCount(alone));
  });

  test('the rule, fed by a real inspection, names the image, its digest, the platform and the Dockerfile fix', async () => {
    const image = `${bearer.host}/shop/multi:1`;
    const images = await inspector().inspect([image], settings());
    const evaluation = evaluateObject(pod([{ name: 'web', image }]), DEFAULT_POLICY, { images });
    const finding = evaluation.findings.find((candidate) => candidate.rule === 'no-shell-entrypoint');
    assert.match(finding?.message ?? '', new RegExp(`from image ${image} \\(${digests.index?.slice(0, 19)}, linux/arm64\\)`));
    assert.match(finding?.fix ?? '', /`ENTRYPOINT \["node", "server\.js"\]`/);
  });
});
