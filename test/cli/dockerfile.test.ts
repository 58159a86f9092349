import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CLEAN_DEPLOYMENT, runCli, tempDir, writeFiles, type CliResult } from './run.js';

const dir = tempDir('dockerfile');

const SHELL_CMD = 'FROM node:22-alpine AS build\nRUN npm ci\n\nFROM build AS runtime\n# start the app\nCMD node server.js\n';
const EXEC_FORM = 'FROM node:22-alpine\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n';
// CRLF, a continuation line and no final newline: all must survive a rewrite byte for byte.
const NEEDS_EXEC = 'FROM python:3.12\r\nENV PORT=8000\r\n# keep this comment\r\nCMD cd /app && \\\r\n  gunicorn -b ":$PORT" main:app';
const NEEDS_EXEC_FIXED =
  'FROM python:3.12\r\nENV PORT=8000\r\n# keep this comment\r\nCMD cd /app && \\\r\n  exec gunicorn -b ":$PORT" main:app';
const PIPELINE = 'FROM ubuntu:24.04\nCMD ./server 2>&1 | tee /var/log/server.log\n';

writeFiles(dir, {
  'repo/Dockerfile': SHELL_CMD,
  'repo/api.Dockerfile': EXEC_FORM,
  'repo/worker/Containerfile': PIPELINE,
  'repo/Dockerfile.prod': 'FROM nginx:1.27\nCOPY dist /usr/share/nginx/html\n',
  'repo/Dockerfile.dockerignore': 'node_modules\n',
  'repo/k8s/deploy.yaml': CLEAN_DEPLOYMENT,
  'build/image.txt': SHELL_CMD,
  'audit.yaml': 'rules:\n  no-shell-entrypoint:\n    mode: audit\n',
  'off.yaml': 'rules:\n  no-shell-entrypoint:\n    mode: off\n',
  'bash-only.yaml': 'rules:\n  no-shell-entrypoint:\n    shells: [bash]\n',
  'not-a-dockerfile.txt': 'hello\n',
  'numbers.Dockerfile': 'FROM alpine\nCMD ["sleep", 5]\n',
});

interface Finding {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  container: string;
  rule: string;
  type: string;
  mode: string;
  message: string;
  fix: string;
}

function checkJson(args: string[], input?: string): { result: CliResult; findings: Finding[]; summary: Record<string, unknown> } {
  const result = runCli(['check', '-o', 'json', ...args], { cwd: dir, ...(input === undefined ? {} : { input }) });
  assert.notEqual(result.status, 2, result.stderr);
  const report = JSON.parse(result.stdout) as { findings: Finding[]; summary: Record<string, unknown> };
  return { result, ...report };
}

describe('check: Dockerfiles', () => {
  test('a directory: Dockerfile, *.Dockerfile, Containerfile and Dockerfile.* are found next to manifests', () => {
    const { result, findings, summary } = checkJson(['repo']);
    assert.equal(result.status, 1);
    assert.deepEqual(
      findings.map(({ file, line, kind, name, namespace, container, rule, type, mode }) => ({
        file,
        line,
        kind,
        name,
        namespace,
        container,
        rule,
        type,
        mode,
      })),
      [
        {
          file: join('repo', 'Dockerfile'),
          line: 6,
          kind: 'Dockerfile',
          name: 'runtime',
          namespace: '',
          container: '',
          rule: 'no-shell-entrypoint',
          type: 'validating',
          mode: 'enforce',
        },
        {
          file: join('repo', 'worker', 'Containerfile'),
          line: 2,
          kind: 'Dockerfile',
          name: 'stage-0',
          namespace: '',
          container: '',
          rule: 'no-shell-entrypoint',
          type: 'validating',
          mode: 'enforce',
        },
      ],
    );
    assert.match(findings[0]?.fix ?? '', /^Write CMD in exec form: CMD \["node", "server\.js"\]/);
    assert.match(findings[1]?.fix ?? '', /cannot rewrite it: its last command is a pipeline/);
    // Four Dockerfiles (the .dockerignore is not one) and one manifest.
    assert.equal(summary.files, 5);
    assert.equal(summary.objects, 5);
    assert.equal(summary.denied, 2);
  });

  test('the table names the file, the stage and the line, and notes an uninspected base image only where it decides PID 1', () => {
    const result = runCli(['check', 'repo'], { cwd: dir });
    assert.equal(result.status, 1);
    assert.match(
      result.stdout,
      /repo\/Dockerfile\n {2}Dockerfile runtime \(line 6\)\n {4}✗ no-shell-entrypoint \[enforce\] CMD in shell form runs `\/bin\/sh -c` as PID 1/,
    );
    assert.match(result.stdout, /5 object\(s\) checked: 2 denied/);
    assert.equal(
      result.stderr,
      'note: repo/Dockerfile.prod:1: the final stage (stage-0) inherits its ENTRYPOINT and CMD from external image nginx:1.27, which was not inspected\n',
    );
  });

  test('--dockerfile reads a file of any name as a Dockerfile, and - from stdin', () => {
    const named = checkJson(['--dockerfile', 'build/image.txt']);
    assert.equal(named.result.status, 1);
    assert.deepEqual(
      named.findings.map((finding) => [finding.file, finding.line]),
      [['build/image.txt', 6]],
    );
    const stdin = checkJson(['--dockerfile', '-'], PIPELINE);
    assert.deepEqual(
      stdin.findings.map((finding) => [finding.file, finding.line]),
      [['-', 2]],
    );
    const clean = checkJson(['--dockerfile', '-', 'repo/k8s/deploy.yaml'], EXEC_FORM);
    assert.equal(clean.result.status, 0);
    assert.equal(clean.summary.objects, 2);
  });

  test("the policy applies: audit warns and exits 0, off is silent, shells are the policy's", () => {
    const audit = checkJson(['--policy', 'audit.yaml', 'repo/Dockerfile']);
    assert.equal(audit.result.status, 0);
    assert.deepEqual(
      audit.findings.map((finding) => finding.mode),
      ['audit'],
    );
    assert.equal(audit.summary.warnings, 1);
    const off = checkJson(['--policy', 'off.yaml', 'repo/Dockerfile']);
    assert.equal(off.result.status, 0);
    assert.deepEqual(off.findings, []);
    const bashOnly = checkJson(['--policy', 'bash-only.yaml', 'repo/Dockerfile']);
    assert.deepEqual(bashOnly.findings, [], 'the shell-form shell is /bin/sh, not a shell under this policy');
  });

  test('bad input exits 2 and names the file: no FROM, a JSON array of non-strings, a directory, nothing to read', () => {
    const noFrom = runCli(['check', '--dockerfile', 'not-a-dockerfile.txt'], { cwd: dir });
    assert.equal(noFrom.status, 2);
    assert.match(noFrom.stderr, /not-a-dockerfile\.txt: no FROM instruction: not a Dockerfile/);
    const numbers = runCli(['check', 'numbers.Dockerfile'], { cwd: dir });
    assert.equal(numbers.status, 2);
    assert.match(numbers.stderr, /numbers\.Dockerfile: line 2: CMD: a JSON array must hold only strings/);
    const directory = runCli(['check', '--dockerfile', 'repo'], { cwd: dir });
    assert.equal(directory.status, 2);
    assert.match(directory.stderr, /repo: a directory, not a regular file/);
    const nothing = runCli(['check'], { cwd: dir });
    assert.equal(nothing.status, 2);
    assert.match(nothing.stderr, /nothing to read/);
  });
});

describe('fix: Dockerfiles', () => {
  test('without --write: prints the rewritten file and says what it did', () => {
    writeFiles(dir, { 'fix1/Dockerfile': SHELL_CMD });
    const result = runCli(['fix', 'fix1/Dockerfile'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, SHELL_CMD.replace('CMD node server.js', 'CMD ["node", "server.js"]'));
    assert.equal(result.stderr, 'fix1/Dockerfile:6: rewritten in exec form: CMD ["node", "server.js"]\n');
    assert.equal(readFileSync(join(dir, 'fix1/Dockerfile'), 'utf8'), SHELL_CMD, 'the file is left as it was');
  });

  test('--write: byte-exact (CRLF, continuation, no final newline), says when it keeps the shell, idempotent, then checks clean', () => {
    writeFiles(dir, { 'fix2/app.Dockerfile': NEEDS_EXEC });
    const first = runCli(['fix', '--write', 'fix2'], { cwd: dir });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(readFileSync(join(dir, 'fix2/app.Dockerfile'), 'utf8'), NEEDS_EXEC_FIXED);
    assert.match(
      first.stderr,
      /fix2\/app\.Dockerfile:4: kept in shell form \(it needs a shell\); added `exec`: CMD cd \/app && exec gunicorn -b ":\$PORT" main:app\n/,
    );
    assert.match(first.stderr, /fix2\/app\.Dockerfile: 1 change\(s\) written\n/);
    const second = runCli(['fix', '--write', 'fix2'], { cwd: dir });
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stderr, 'fix2/app.Dockerfile: unchanged\n');
    assert.equal(readFileSync(join(dir, 'fix2/app.Dockerfile'), 'utf8'), NEEDS_EXEC_FIXED);
    assert.equal(runCli(['check', 'fix2'], { cwd: dir }).status, 0);
  });

  test('a command fix cannot rewrite is left alone, with the reason', () => {
    writeFiles(dir, { 'fix3/Containerfile': PIPELINE });
    const result = runCli(['fix', '--write', 'fix3/Containerfile'], { cwd: dir });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /fix3\/Containerfile:2: not fixed: .*cannot rewrite it: its last command is a pipeline/);
    assert.equal(readFileSync(join(dir, 'fix3/Containerfile'), 'utf8'), PIPELINE);
  });

  test('a rule in audit mode is fixed, one turned off is not; --write refuses stdin', () => {
    writeFiles(dir, { 'fix4/Dockerfile': SHELL_CMD });
    const audit = runCli(['fix', '--policy', 'audit.yaml', 'fix4/Dockerfile'], { cwd: dir });
    assert.equal(audit.status, 0, audit.stderr);
    assert.match(audit.stdout, /\nCMD \["node", "server\.js"\]\n$/);
    const off = runCli(['fix', '--policy', 'off.yaml', '--write', 'fix4/Dockerfile'], { cwd: dir });
    assert.equal(off.status, 0, off.stderr);
    assert.equal(readFileSync(join(dir, 'fix4/Dockerfile'), 'utf8'), SHELL_CMD);
    const stdin = runCli(['fix', '--write', '--dockerfile', '-'], { cwd: dir, input: SHELL_CMD });
    assert.equal(stdin.status, 2);
    assert.match(stdin.stderr, /--write cannot write back to stdin/);
  });
});
