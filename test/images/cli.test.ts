// `check --inspect-images` through the built CLI against a real registry; the CLI trusts the test CA
// through NODE_EXTRA_CA_CERTS, as a pipeline with a private CA would.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, tempDir, writeFiles } from '../cli/run.js';
import { deploymentObject } from '../e2e/harness/manifests.js';
import { ensureRegistryInstalled, pushImage, startRegistry, USER, type RunningRegistry } from './harness.js';

let registry: RunningRegistry;
const dir = tempDir('inspect-images');
let env: NodeJS.ProcessEnv;

/** A Deployment the other rules accept, with no `command` unless given: its image decides PID 1. */
function deployment(image: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify(
    deploymentObject('web', 'shop', { containers: [{ name: 'web', image, readinessProbe: { tcpSocket: { port: 8080 } }, ...extra }] }),
  );
}

before(async () => {
  ensureRegistryInstalled();
  registry = await startRegistry('htpasswd');
  await pushImage(registry, 'shop/web', '1', { cmd: ['/bin/sh', '-c', '/app/server --port 80'] });
  await pushImage(registry, 'shop/base', 'exec', { entrypoint: ['/app/server'] });
  const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  writeFiles(dir, {
    'ca.crt': registry.ca,
    'home/.docker/config.json': JSON.stringify({ auths: { [registry.host]: { auth } } }),
    'other-config.json': JSON.stringify({ auths: {} }),
    'broken-config.json': '{',
    'web.yaml': deployment(`${registry.host}/shop/web:1`),
    'web-command.yaml': deployment(`${registry.host}/shop/web:1`, { command: ['/app/server'] }),
    'missing.yaml': deployment(`${registry.host}/shop/web:2`),
    // Dockerfiles that set no ENTRYPOINT or CMD: the base image decides PID 1.
    'inherits-shell/Dockerfile': `FROM ${registry.host}/shop/web:1\nCOPY server /app/server\n`,
    'inherits-exec/Dockerfile': `FROM ${registry.host}/shop/base:exec\nCOPY server /app/server\n`,
  });
  env = { NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'), HOME: join(dir, 'home') };
});

after(async () => {
  await registry?.stop();
});

describe('check --inspect-images', () => {
  test('a shell-form CMD in the image: exit 1, the finding names the image and the Dockerfile fix', () => {
    const result = runCli(['check', 'web.yaml', '--inspect-images', '-o', 'json'], { cwd: dir, env });
    assert.equal(result.status, 1, result.stderr);
    const report = JSON.parse(result.stdout) as {
      findings: { rule: string; message: string; fix: string }[];
      uninspectedImages: unknown[];
    };
    const finding = report.findings.find((candidate) => candidate.rule === 'no-shell-entrypoint');
    assert.match(
      finding?.message ?? '',
      new RegExp(`from image ${registry.host}/shop/web:1 .*Dockerfile \`CMD /app/server --port 80\` \\(shell form\\)`),
    );
    assert.match(finding?.fix ?? '', /`CMD \["\/app\/server", "--port", "80"\]`/);
    assert.deepEqual(report.uninspectedImages, []);
  });

  test('without --inspect-images nothing is looked up (CI may be offline): exit 0', () => {
    assert.equal(runCli(['check', 'web.yaml'], { cwd: dir, env }).status, 0);
  });

  test('`command` overrides the image: exit 0', () => {
    assert.equal(runCli(['check', 'web-command.yaml', '--inspect-images'], { cwd: dir, env }).status, 0);
  });

  test('--registry-config replaces ~/.docker/config.json: without credentials the image is not inspected, and stderr says why', () => {
    const result = runCli(['check', 'web.yaml', '--inspect-images', '--registry-config', 'other-config.json'], { cwd: dir, env });
    assert.equal(result.status, 0);
    assert.match(
      result.stderr,
      new RegExp(`warning: image ${registry.host}/shop/web:1 not inspected .*refused access|asks for credentials`),
    );
  });

  test('a tag that does not exist is listed as not inspected and never denies', () => {
    const result = runCli(['check', 'missing.yaml', '--inspect-images', '-o', 'json'], { cwd: dir, env });
    assert.equal(result.status, 0);
    const report = JSON.parse(result.stdout) as { uninspectedImages: { image: string; reason: string }[] };
    assert.equal(report.uninspectedImages[0]?.image, `${registry.host}/shop/web:2`);
    assert.match(report.uninspectedImages[0]?.reason ?? '', /not found/);
  });

  test('an unreadable or invalid --registry-config is bad input: exit 2, named', () => {
    for (const file of ['nope.json', 'broken-config.json']) {
      const result = runCli(['check', 'web.yaml', '--inspect-images', '--registry-config', file], { cwd: dir, env });
      assert.equal(result.status, 2, file);
      assert.match(result.stderr, new RegExp(file.replace('.', '\\.')));
    }
  });

  test("a Dockerfile's external base image is inspected: its shell-form CMD is found, an exec-form ENTRYPOINT passes", () => {
    const shell = runCli(['check', 'inherits-shell/Dockerfile', '--inspect-images', '-o', 'json'], { cwd: dir, env });
    assert.equal(shell.status, 1, shell.stderr);
    const [finding] = (JSON.parse(shell.stdout) as { findings: { kind: string; message: string }[] }).findings;
    assert.equal(finding?.kind, 'Dockerfile');
    assert.match(finding?.message ?? '', new RegExp(`base image ${registry.host}/shop/web:1, linux/amd64`));
    const exec = runCli(['check', 'inherits-exec/Dockerfile', '--inspect-images'], { cwd: dir, env });
    assert.equal(exec.status, 0, exec.stdout + exec.stderr);
    // Without inspection the base image is unknown: nothing is claimed, and stderr says what was not read.
    const offline = runCli(['check', 'inherits-shell/Dockerfile'], { cwd: dir, env });
    assert.equal(offline.status, 0);
    assert.match(offline.stderr, /not inspected/);
  });
});
