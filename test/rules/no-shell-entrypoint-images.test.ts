import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageInspection, ImagePlatformConfig } from '../../src/core/images.js';
import type { JsonObject } from '../../src/core/types.js';
import { findingsOf, pod } from './helpers.js';

const RULE = 'no-shell-entrypoint';
const IMAGE = 'registry.example:5000/shop/web:1.2';
const INDEX_DIGEST = `sha256:${'ab'.repeat(32)}`;

function platform(platformName: string, entrypoint: string[], cmd: string[] = []): ImagePlatformConfig {
  return { platform: platformName, digest: `sha256:${platformName.length.toString(16).repeat(64).slice(0, 64)}`, entrypoint, cmd };
}

function inspected(...platforms: ImagePlatformConfig[]): Map<string, ImageInspection> {
  return new Map([[IMAGE, { status: 'inspected', reference: IMAGE, digest: INDEX_DIGEST, platforms }]]);
}

function web(extra: JsonObject = {}): JsonObject {
  return pod([{ name: 'web', image: IMAGE, ...extra }]);
}

const SHELL_FORM_ENTRYPOINT = platform('linux/amd64', ['/bin/sh', '-c', 'node server.js']);

describe('no-shell-entrypoint: effective command from the image (kubelet semantics)', () => {
  test('no command, no args: a shell-form ENTRYPOINT is PID 1; the finding names image, digest, platform and instruction', () => {
    const [finding, ...rest] = findingsOf(RULE, web(), {}, { images: inspected(SHELL_FORM_ENTRYPOINT) });
    assert.equal(rest.length, 0);
    assert.equal(finding?.container, 'web');
    assert.match(
      finding?.message ?? '',
      /`\/bin\/sh -c` as PID 1 from image registry\.example:5000\/shop\/web:1\.2 \(sha256:abababababab, linux\/amd64\)/,
    );
    assert.match(finding?.message ?? '', /Dockerfile `ENTRYPOINT node server\.js` \(shell form\)/);
    assert.match(finding?.fix ?? '', /write `ENTRYPOINT \["node", "server\.js"\]` \(exec form\)/);
    assert.match(finding?.fix ?? '', /set `command: \["node", "server\.js"\]` on container "web"/);
  });

  test('a shell-form CMD without ENTRYPOINT is PID 1 and the fix rewrites the CMD', () => {
    const [finding] = findingsOf(
      RULE,
      web(),
      {},
      { images: inspected(platform('linux/amd64', [], ['/bin/sh', '-c', '/app/server --port 80'])) },
    );
    assert.match(finding?.message ?? '', /Dockerfile `CMD \/app\/server --port 80` \(shell form\)/);
    assert.match(finding?.fix ?? '', /`CMD \["\/app\/server", "--port", "80"\]`/);
  });

  test('exec-form ENTRYPOINT and CMD are not flagged', () => {
    assert.deepEqual(findingsOf(RULE, web(), {}, { images: inspected(platform('linux/amd64', ['node'], ['server.js'])) }), []);
  });

  test('an entrypoint script with a shell-form CMD is a program, not `sh -c`: not flagged', () => {
    const images = inspected(platform('linux/amd64', ['/docker-entrypoint.sh'], ['/bin/sh', '-c', 'nginx -g daemon off;']));
    assert.deepEqual(findingsOf(RULE, web(), {}, { images }), []);
  });

  test('`command` in the manifest replaces the image: a shell-form ENTRYPOINT is ignored', () => {
    assert.deepEqual(findingsOf(RULE, web({ command: ['node', 'server.js'] }), {}, { images: inspected(SHELL_FORM_ENTRYPOINT) }), []);
  });

  test('`args` alone replace only Cmd: the shell-form ENTRYPOINT still runs and is flagged', () => {
    const findings = findingsOf(RULE, web({ args: ['--port', '80'] }), {}, { images: inspected(SHELL_FORM_ENTRYPOINT) });
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', /ENTRYPOINT node server\.js/);
  });

  test('`args` replace a shell-form CMD: an exec-form ENTRYPOINT + args is clean', () => {
    const images = inspected(platform('linux/amd64', ['/app/server'], ['/bin/sh', '-c', 'x']));
    assert.deepEqual(findingsOf(RULE, web({ args: ['--port', '80'] }), {}, { images }), []);
  });

  test('an init ENTRYPOINT with a shell-form CMD: the shell runs under the init, and the fix rewrites the CMD only', () => {
    const images = inspected(platform('linux/amd64', ['/sbin/tini', '--'], ['/bin/sh', '-c', 'node server.js']));
    const [finding, ...rest] = findingsOf(RULE, web(), {}, { images });
    assert.equal(rest.length, 0);
    assert.match(finding?.message ?? '', /^runs `\/bin\/sh -c` under tini from image registry\.example:5000\/shop\/web:1\.2 /);
    assert.match(
      finding?.message ?? '',
      /Dockerfile `ENTRYPOINT \["\/sbin\/tini", "--"\]` \+ `CMD node server\.js` \(shell form\): the shell dies/,
    );
    assert.match(finding?.fix ?? '', /write `CMD \["node", "server\.js"\]` \(exec form\) instead of `CMD node server\.js` \(shell form\)/);
    // `args` keep the init; `command` would drop it.
    assert.match(finding?.fix ?? '', /set `args: \["node", "server\.js"\]` on container "web"/);
    assert.deepEqual(findingsOf(RULE, web({ args: ['node', 'server.js'] }), {}, { images }), []);
  });

  test('an init and its shell both in the ENTRYPOINT: the rewrite keeps the init', () => {
    const images = inspected(platform('linux/amd64', ['dumb-init', '--', 'sh', '-c'], ['node server.js']));
    const [finding] = findingsOf(RULE, web(), {}, { images });
    assert.match(finding?.message ?? '', /`sh -c` under dumb-init from image/);
    assert.match(finding?.fix ?? '', /write `ENTRYPOINT \["dumb-init", "--", "node", "server\.js"\]` \(exec form\)/);
    assert.match(finding?.fix ?? '', /set `command: \["dumb-init", "--", "node", "server\.js"\]`/);
  });

  test("an init ENTRYPOINT with `args` that start a shell: the manifest's doing, under the init", () => {
    const images = inspected(platform('linux/amd64', ['tini', '--'], ['/app/server']));
    const [finding] = findingsOf(RULE, web({ args: ['sh', '-c', './server'] }), {}, { images });
    assert.doesNotMatch(finding?.message ?? '', /from image/);
    assert.match(finding?.message ?? '', /^runs `sh -c` under tini:/);
  });

  test("`args` that start a shell, in an image without ENTRYPOINT, are the manifest's doing", () => {
    const images = inspected(platform('linux/amd64', [], ['/app/server']));
    const [finding] = findingsOf(RULE, web({ args: ['sh', '-c', './server'] }), {}, { images });
    assert.doesNotMatch(finding?.message ?? '', /from image/);
    assert.match(finding?.message ?? '', /`sh -c` as PID 1/);
  });

  test("`args` behind an entrypoint script are that script's arguments: not flagged", () => {
    const images = inspected(platform('linux/amd64', ['/docker-entrypoint.sh'], []));
    assert.deepEqual(findingsOf(RULE, web({ args: ['sh', '-c', './server'] }), {}, { images }), []);
  });

  test('ENTRYPOINT ["sh", "-c"] takes its script from CMD: both instructions are named', () => {
    const [finding] = findingsOf(RULE, web(), {}, { images: inspected(platform('linux/amd64', ['sh', '-c'], ['./server'])) });
    assert.match(finding?.message ?? '', /`ENTRYPOINT \["sh", "-c"\]` \+ `CMD \["\.\/server"\]`/);
    assert.match(finding?.fix ?? '', /`ENTRYPOINT \["\.\/server"\]`/);
  });

  test('a script that hands off with exec is not flagged, in the image as in the manifest', () => {
    const images = inspected(platform('linux/amd64', ['/bin/sh', '-c', 'exec node server.js']));
    assert.deepEqual(findingsOf(RULE, web(), {}, { images }), []);
  });

  test('a script that needs a shell gets the exec hand-off advice, not a broken exec form', () => {
    const images = inspected(platform('linux/amd64', ['/bin/sh', '-c', 'cd /app && node server.js']));
    const [finding] = findingsOf(RULE, web(), {}, { images });
    assert.match(finding?.fix ?? '', /last command `exec <program>`/);
    assert.doesNotMatch(finding?.fix ?? '', /\["cd"/);
  });

  test('an index: only the shell-form platform is named', () => {
    const images = inspected(platform('linux/amd64', ['/app/server']), platform('linux/arm64', ['/bin/sh', '-c', '/app/server']));
    const findings = findingsOf(RULE, web(), {}, { images });
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', /, linux\/arm64\)/);
    assert.doesNotMatch(findings[0]?.message ?? '', /amd64/);
  });

  test('platforms with the same shell form make one finding that names them all', () => {
    const images = inspected(platform('linux/amd64', ['/bin/sh', '-c', 'x']), platform('linux/arm64/v8', ['/bin/sh', '-c', 'x']));
    const findings = findingsOf(RULE, web(), {}, { images });
    assert.equal(findings.length, 1);
    assert.match(findings[0]?.message ?? '', /linux\/amd64, linux\/arm64\/v8/);
  });

  test('an image that was not inspected falls back to the manifest alone', () => {
    const images = new Map<string, ImageInspection>([[IMAGE, { status: 'uninspected', reference: IMAGE, reason: 'timeout' }]]);
    assert.deepEqual(findingsOf(RULE, web(), {}, { images }), []);
    assert.equal(findingsOf(RULE, web({ args: ['sh', '-c', 'x'] }), {}, { images }).length, 1);
  });

  test('facts about another image do not apply', () => {
    assert.deepEqual(findingsOf(RULE, pod([{ name: 'web', image: 'other:1' }]), {}, { images: inspected(SHELL_FORM_ENTRYPOINT) }), []);
  });

  test('init containers are not judged, whatever their image', () => {
    const object = pod([{ name: 'web', image: 'other:1' }], { initContainers: [{ name: 'init', image: IMAGE }] });
    assert.deepEqual(findingsOf(RULE, object, {}, { images: inspected(SHELL_FORM_ENTRYPOINT) }), []);
  });

  test('a shell configured in `shells` is recognised in the image too', () => {
    const images = inspected(platform('linux/amd64', ['/bin/mksh', '-c', 'x; y']));
    assert.equal(findingsOf(RULE, web(), {}, { images }).length, 0);
    assert.equal(findingsOf(RULE, web(), { shells: ['mksh'] }, { images }).length, 1);
  });
});
