import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeDockerfile, DockerfileError, isDockerfileName, type Provenance } from '../../src/core/dockerfile.js';

/** The argv and line an ENTRYPOINT/CMD provenance holds, or where else it comes from. */
function summary(provenance: Provenance): unknown {
  if (provenance.from === 'instruction') {
    const { keyword, form, argv, line, stage } = provenance.instruction;
    return { keyword, form, argv, line, stage };
  }
  return provenance.from === 'base-image' ? { image: provenance.image } : 'none';
}

describe('isDockerfileName', () => {
  test('recognises what docker build and podman build users name their files', () => {
    for (const name of [
      'Dockerfile',
      'dockerfile',
      'Containerfile',
      'api.Dockerfile',
      'web.dockerfile',
      'Dockerfile.prod',
      'Dockerfile.dev',
      'Dockerfile_windows',
      'Dockerfile-alpine',
      'Containerfile.arm64',
      'app.containerfile',
    ]) {
      assert.equal(isDockerfileName(name), true, name);
    }
  });
  test('leaves other files alone: BuildKit ignore files, notes and manifests named after a Dockerfile', () => {
    for (const name of [
      'Dockerfile.dockerignore',
      'api.Dockerfile.dockerignore',
      '.dockerignore',
      'Dockerfile.md',
      'Dockerfile.yaml',
      'deployment.yaml',
      'MyDockerfile',
      'Dockerfiles',
      'docker-compose.yml',
      'Dockerfile.',
    ]) {
      assert.equal(isDockerfileName(name), false, name);
    }
  });
});

describe('analyzeDockerfile: the final stage as docker build stores it', () => {
  test('shell form is stored as the shell followed by the whole script', () => {
    const startup = analyzeDockerfile('FROM alpine\nCMD node server.js --port $PORT\n');
    assert.deepEqual(summary(startup.cmd), {
      keyword: 'CMD',
      form: 'shell',
      argv: ['/bin/sh', '-c', 'node server.js --port $PORT'],
      line: 2,
      stage: 'stage-0',
    });
    assert.deepEqual(summary(startup.entrypoint), { image: 'alpine' });
  });

  test('exec form is JSON: escapes decoded, and JSON that does not parse is shell form, as docker decides', () => {
    const exec = analyzeDockerfile('FROM alpine\nCMD [ "a\\u0041", "b\\"c" ]\n');
    assert.deepEqual(summary(exec.cmd), { keyword: 'CMD', form: 'exec', argv: ['aA', 'b"c'], line: 2, stage: 'stage-0' });
    const invalid = analyzeDockerfile("FROM alpine\nCMD ['node', 'app.js']\n");
    assert.deepEqual(summary(invalid.cmd), {
      keyword: 'CMD',
      form: 'shell',
      argv: ['/bin/sh', '-c', "['node', 'app.js']"],
      line: 2,
      stage: 'stage-0',
    });
  });

  test('a JSON array that holds something else than strings is refused, as docker build refuses it', () => {
    assert.throws(
      () => analyzeDockerfile('FROM alpine\nCMD ["node", 1]\n'),
      (error: Error) => error instanceof DockerfileError && /line 2: CMD: a JSON array must hold only strings/.test(error.message),
    );
  });

  test('continuation lines are joined and comment lines inside them dropped; lowercase keywords and CRLF are read', () => {
    const startup = analyzeDockerfile('from alpine\r\nentrypoint ./server \\\r\n# a comment\r\n  --port 80\r\n');
    assert.deepEqual(summary(startup.entrypoint), {
      keyword: 'ENTRYPOINT',
      form: 'shell',
      argv: ['/bin/sh', '-c', './server   --port 80'],
      line: 2,
      stage: 'stage-0',
    });
  });

  test('the escape directive changes the continuation character', () => {
    const startup = analyzeDockerfile('# escape=`\nFROM alpine\nCMD ./a && `\n  ./b\n');
    assert.deepEqual(summary(startup.cmd), {
      keyword: 'CMD',
      form: 'shell',
      argv: ['/bin/sh', '-c', './a &&   ./b'],
      line: 3,
      stage: 'stage-0',
    });
  });

  test('SHELL sets the shell of the shell-form instructions after it, and is inherited by later stages', () => {
    const startup = analyzeDockerfile(
      'FROM alpine AS base\nCMD a\nSHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nFROM base\nENTRYPOINT b\n',
    );
    assert.deepEqual(summary(startup.entrypoint), {
      keyword: 'ENTRYPOINT',
      form: 'shell',
      argv: ['/bin/bash', '-eo', 'pipefail', '-c', 'b'],
      line: 5,
      stage: 'stage-1',
    });
    const first = analyzeDockerfile('FROM alpine\nCMD a\nSHELL ["/bin/bash", "-c"]\n');
    assert.deepEqual(summary(first.cmd), { keyword: 'CMD', form: 'shell', argv: ['/bin/sh', '-c', 'a'], line: 2, stage: 'stage-0' });
  });

  test('a SHELL that is not a JSON array is refused', () => {
    assert.throws(() => analyzeDockerfile('FROM alpine\nSHELL /bin/bash -c\n'), /line 2: SHELL needs a JSON array/);
  });

  test('FROM <stage> inherits ENTRYPOINT and CMD; stage names are case-insensitive; the last FROM is the final stage', () => {
    const startup = analyzeDockerfile(
      'FROM golang AS Build\nENTRYPOINT ["/app"]\nCMD ["--a"]\nFROM scratch AS other\nFROM build AS final\nRUN true\n',
    );
    assert.equal(startup.stage, 'final');
    assert.equal(startup.line, 5);
    assert.deepEqual(summary(startup.entrypoint), { keyword: 'ENTRYPOINT', form: 'exec', argv: ['/app'], line: 2, stage: 'Build' });
    assert.deepEqual(summary(startup.cmd), { keyword: 'CMD', form: 'exec', argv: ['--a'], line: 3, stage: 'Build' });
    assert.deepEqual(startup.baseImage, { image: 'golang', line: 1 });
  });

  test('a stage named later in the file is an image, not that stage', () => {
    const startup = analyzeDockerfile('FROM app\nFROM alpine AS app\nCMD ["x"]\n');
    assert.deepEqual(summary(startup.cmd), { keyword: 'CMD', form: 'exec', argv: ['x'], line: 3, stage: 'app' });
    const first = analyzeDockerfile('FROM app\nCMD ["y"]\nFROM alpine AS app\nFROM app\n');
    assert.deepEqual(summary(first.cmd), { image: 'alpine' });
  });

  test('FROM with flags and global ARGs resolves to the stage or image they name', () => {
    const startup = analyzeDockerfile('ARG BASE=runtime\nFROM --platform=$BUILDPLATFORM alpine AS runtime\nCMD ["/srv"]\nFROM ${BASE}\n');
    assert.deepEqual(summary(startup.cmd), { keyword: 'CMD', form: 'exec', argv: ['/srv'], line: 3, stage: 'runtime' });
  });

  test('ENTRYPOINT resets a CMD inherited from the base, but not one set earlier in the same stage', () => {
    const inherited = analyzeDockerfile('FROM alpine AS base\nCMD ["serve"]\nFROM base\nENTRYPOINT ["/app"]\n');
    assert.equal(inherited.cmd.from, 'none');
    const sameStage = analyzeDockerfile('FROM alpine\nCMD ["serve"]\nENTRYPOINT ["/app"]\n');
    assert.deepEqual(summary(sameStage.cmd), { keyword: 'CMD', form: 'exec', argv: ['serve'], line: 2, stage: 'stage-0' });
    const external = analyzeDockerfile('FROM node\nENTRYPOINT ["/app"]\n');
    assert.equal(external.cmd.from, 'none');
  });

  test('scratch has no ENTRYPOINT or CMD; a heredoc body holds no instructions', () => {
    const startup = analyzeDockerfile('FROM scratch\nCOPY <<EOF /etc/motd\nCMD sh -c "not an instruction"\nEOF\n');
    assert.equal(startup.entrypoint.from, 'none');
    assert.equal(startup.cmd.from, 'none');
    assert.equal(startup.baseImage, undefined);
  });

  test('a file without FROM is not a Dockerfile', () => {
    assert.throws(() => analyzeDockerfile('apiVersion: v1\nkind: Pod\n'), /no FROM instruction/);
  });

  test('offsets locate the arguments and every character of a shell-form script in the text', () => {
    const text = 'FROM alpine\r\nCMD cd /app && \\\r\n  ./server\r\n';
    const startup = analyzeDockerfile(text);
    assert.equal(startup.cmd.from, 'instruction');
    if (startup.cmd.from !== 'instruction') return;
    const { start, end, script, scriptOffsets } = startup.cmd.instruction;
    assert.equal(text.slice(start, end), 'cd /app && \\\r\n  ./server');
    assert.equal(scriptOffsets?.map((offset) => text[offset]).join(''), script);
  });
});
