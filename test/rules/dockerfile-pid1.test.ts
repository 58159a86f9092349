import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DockerfileError } from '../../src/core/dockerfile.js';
import { DEFAULT_LONE_COMMAND_SHELLS, DEFAULT_SHELLS, type ShellJudge } from '../../src/core/shell.js';
import { applyRewrite, baseImageToInspect, checkDockerfile, execInsertion, plainWords } from '../../src/rules/dockerfile-pid1.js';

const judge: ShellJudge = { shells: DEFAULT_SHELLS, loneCommandShells: DEFAULT_LONE_COMMAND_SHELLS };

describe('plainWords: shell-form commands that exec form can replace', () => {
  const plain: [string, string[]][] = [
    ['node server.js', ['node', 'server.js']],
    ['  /app/server   --port=80 -v  ', ['/app/server', '--port=80', '-v']],
    ['nginx -g "daemon off;"', ['nginx', '-g', 'daemon off;']],
    ["redis-server --save '' --appendonly no", ['redis-server', '--save', '', '--appendonly', 'no']],
    ['java -Dkey="a b" -jar app.jar', ['java', '-Dkey=a b', '-jar', 'app.jar']],
    [
      'gunicorn app:app -b 0.0.0.0:8000 -w 4 --log-level=info,debug @conf 50%',
      ['gunicorn', 'app:app', '-b', '0.0.0.0:8000', '-w', '4', '--log-level=info,debug', '@conf', '50%'],
    ],
  ];
  for (const [script, words] of plain) test(script, () => assert.deepEqual(plainWords(script), words));

  const needsShell = [
    'node server.js --port $PORT',
    'node "${APP}"',
    'cd /app && node server.js',
    'node a; node b',
    'node a | tee log',
    'node a > log',
    'node a 2>&1',
    'node < input',
    'node *.js',
    'node app?.js',
    'node [ab].js',
    'node ~/app.js',
    'node a\\ b',
    'node `cat args`',
    'node a # comment',
    'node "a',
    'NODE_ENV=production node server.js',
    'cd /app',
    'set -e',
    '. /venv/bin/activate',
    '',
    '   ',
  ];
  for (const script of needsShell) test(`needs a shell: ${JSON.stringify(script)}`, () => assert.equal(plainWords(script), undefined));
});

describe('execInsertion: where exec goes', () => {
  const cases: [string, string][] = [
    ['node server.js --port $PORT', 'exec node server.js --port $PORT'],
    ['cd /app && node server.js', 'cd /app && exec node server.js'],
    ['set -e; ./migrate; ./server "$@"', 'set -e; ./migrate; exec ./server "$@"'],
    ['./setup.sh\n./server', './setup.sh\nexec ./server'],
    ['cd /app &&   PORT=1 DEBUG="a b" node server.js', 'cd /app &&   exec env PORT=1 DEBUG="a b" node server.js'],
    ['echo "a; b && c" && ./server', 'echo "a; b && c" && exec ./server'],
    ["echo 'x;y' ; ./server --flag='a&&b'", "echo 'x;y' ; exec ./server --flag='a&&b'"],
  ];
  for (const [script, expected] of cases) {
    test(script, () => {
      const insertion = execInsertion(script);
      assert.ok('index' in insertion, JSON.stringify(insertion));
      assert.equal(`${script.slice(0, insertion.index)}${insertion.text}${script.slice(insertion.index)}`, expected);
    });
  }
  const refused: [string, RegExp][] = [
    ['./server | tee log', /pipeline/],
    ['./server || ./fallback', /pipeline/],
    ['./server &', /background/],
    ['(cd /app; ./server)', /subshell/],
    ['./server $(cat /args)', /subshell/],
    ['while true; do ./worker; done', /shell word `done`/],
    ['if [ -f x ]; then a; else b; fi', /shell word `fi`/],
    ['./a; cd /app', /shell word `cd`/],
    ['./a;', /no command/],
  ];
  for (const [script, reason] of refused) {
    test(`refused: ${script}`, () => {
      const insertion = execInsertion(script);
      assert.ok('reason' in insertion);
      assert.match(insertion.reason, reason);
    });
  }
});

describe('checkDockerfile', () => {
  test('names the init that hands SIGTERM to the shell', () => {
    const { finding } = checkDockerfile('FROM alpine\nENTRYPOINT ["/sbin/tini", "-p", "SIGKILL", "--"]\nCMD ./server\n', judge);
    assert.match(finding?.message ?? '', /^CMD in shell form runs `\/bin\/sh -c` under tini: the shell dies of the SIGTERM tini forwards/);
    assert.equal(finding?.line, 3);
  });

  test('an init whose child is a program is fine', () => {
    assert.equal(checkDockerfile('FROM alpine\nENTRYPOINT ["dumb-init", "--single-child"]\nCMD ["./server"]\n', judge).finding, undefined);
  });

  test('an entrypoint script with a shell-form CMD is a program with arguments', () => {
    assert.equal(checkDockerfile('FROM alpine\nENTRYPOINT ["/docker-entrypoint.sh"]\nCMD ./server\n', judge).finding, undefined);
  });

  test('says when the shell was written in an earlier stage and when the base image was not inspected', () => {
    const { finding, uninspected } = checkDockerfile('FROM python:3.12 AS base\nCMD python app.py\nFROM base AS prod\n', judge);
    assert.equal(finding?.stage, 'prod');
    assert.match(finding?.message ?? '', /written in stage base, which the final stage builds on/);
    assert.match(
      finding?.message ?? '',
      /assuming base image python:3\.12 has no ENTRYPOINT or one that runs its arguments: it was not inspected/,
    );
    assert.deepEqual(uninspected, {
      image: 'python:3.12',
      line: 1,
      reason: 'the final stage (prod) inherits its ENTRYPOINT from external image python:3.12, which was not inspected',
    });
  });

  test('no assumption about the base image once the file sets the ENTRYPOINT', () => {
    const { finding, uninspected } = checkDockerfile('FROM alpine\nENTRYPOINT ./server\n', judge);
    assert.doesNotMatch(finding?.message ?? 'missing', /not inspected/);
    assert.equal(uninspected, undefined);
  });

  test('with the base image inspected, its ENTRYPOINT and CMD are judged (the hook for image inspection)', () => {
    const text = 'FROM registry.example/app:1\nCOPY config /etc/app/\n';
    assert.deepEqual(baseImageToInspect(text), {
      image: 'registry.example/app:1',
      line: 1,
      reason:
        'the final stage (stage-0) inherits its ENTRYPOINT and CMD from external image registry.example/app:1, which was not inspected',
    });
    assert.equal(checkDockerfile(text, judge).finding, undefined);
    const shellImage = checkDockerfile(text, judge, { entrypoint: null, cmd: ['/bin/sh', '-c', 'node server.js'] });
    assert.equal(shellImage.finding?.line, 1);
    assert.match(shellImage.finding?.message ?? '', /^the CMD of base image registry\.example\/app:1 runs `\/bin\/sh -c` as PID 1/);
    assert.equal(shellImage.finding?.rewrite, undefined);
    assert.equal(
      checkDockerfile(text, judge, { entrypoint: ['/docker-entrypoint.sh'], cmd: ['/bin/sh', '-c', 'node server.js'] }).finding,
      undefined,
    );
    const shellEntrypoint = checkDockerfile(text, judge, {
      entrypoint: ['/bin/bash', '-c', 'cd /app && node server.js'],
      cmd: ['--port', '80'],
    });
    assert.match(
      shellEntrypoint.finding?.message ?? '',
      /^the ENTRYPOINT of base image registry\.example\/app:1 runs `\/bin\/bash -c` as PID 1/,
    );
    assert.equal(baseImageToInspect('FROM alpine\nENTRYPOINT ["/app"]\n'), undefined);
  });

  test('a lone command under a shell that execs it passes, as in manifests and images; loneCommandShells: [] is strict', () => {
    const text = 'FROM debian\nSHELL ["/bin/bash", "-c"]\nCMD node server.js\n';
    assert.equal(checkDockerfile(text, judge).finding, undefined);
    assert.equal(checkDockerfile(text, { ...judge, loneCommandShells: [] }).finding?.line, 3);
    assert.equal(checkDockerfile('FROM debian\nCMD node server.js\n', judge).finding?.line, 2); // /bin/sh may be dash
  });

  test('the policy decides which programs are shells', () => {
    const text = 'FROM alpine\nCMD ["fish", "-c", "./server"]\n';
    assert.equal(checkDockerfile(text, judge).finding, undefined);
    assert.match(checkDockerfile(text, { ...judge, shells: ['fish'] }).finding?.message ?? '', /runs `fish -c`/);
  });

  test('the fix text teaches the rewrite, or says why there is none', () => {
    assert.equal(
      checkDockerfile('FROM alpine\nCMD ./server -v\n', judge).finding?.fix,
      'Write CMD in exec form: CMD ["./server", "-v"] (`lifecycle-guard fix` rewrites it)',
    );
    assert.match(
      checkDockerfile('FROM alpine\nCMD ./server | tee log\n', judge).finding?.fix ?? '',
      /cannot rewrite it: its last command is a pipeline/,
    );
  });

  test('a rewrite of exec-form sh -c keeps the JSON as written around the insertion', () => {
    const text = 'FROM alpine\nCMD ["sh","-c","echo \\"start\\" && ./server"]\n';
    const rewrite = checkDockerfile(text, judge).finding?.rewrite;
    assert.ok(rewrite);
    assert.equal(applyRewrite(text, rewrite), 'FROM alpine\nCMD ["sh","-c","echo \\"start\\" && exec ./server"]\n');
  });

  test('a script written with JSON escapes that cannot be located exactly is not rewritten', () => {
    const finding = checkDockerfile('FROM alpine\nCMD ["sh", "-c", "cd \\u002fapp && ./server"]\n', judge).finding;
    assert.ok(finding);
    assert.equal(finding.rewrite, undefined);
    const after = 'FROM alpine\nCMD ["sh", "-c", "cd /app && \\u002e/server"]\n';
    const rewrite = checkDockerfile(after, judge).finding?.rewrite;
    assert.equal(rewrite && applyRewrite(after, rewrite), 'FROM alpine\nCMD ["sh", "-c", "cd /app && exec \\u002e/server"]\n');
  });
});

describe('checkDockerfile on odd input', () => {
  const piece = fc.constantFrom(
    'FROM a AS b\n',
    'FROM b\n',
    'CMD ',
    'ENTRYPOINT ',
    'SHELL ["/bin/bash", "-c"]\n',
    '[',
    ']',
    '"',
    "'",
    'sh',
    '-c',
    ' ',
    '\\\n',
    '\r\n',
    '\n',
    '# c\n',
    'exec ',
    '&&',
    ';',
    '|',
    '$X',
    'node',
    'tini',
    '--',
    ',',
    '`',
    '<<EOF\n',
    'EOF\n',
    '\\u0041',
    'cd',
    'X=1',
  );
  test('never throws but a DockerfileError; every rewrite it offers checks clean and starts on its instruction', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const text = `FROM alpine\n${parts.join('')}`;
        let finding;
        try {
          finding = checkDockerfile(text, judge).finding;
        } catch (error) {
          if (error instanceof DockerfileError) return;
          throw error;
        }
        if (finding?.rewrite === undefined) return;
        const after = applyRewrite(text, finding.rewrite);
        assert.equal(checkDockerfile(after, judge).finding, undefined, JSON.stringify(text));
        const before = text.slice(0, finding.rewrite.offset);
        assert.ok(after.startsWith(before) && after.endsWith(text.slice(finding.rewrite.offset + finding.rewrite.length)));
        // The edit starts on the instruction's own lines, never before them.
        assert.ok(before.split('\n').length >= finding.rewrite.line, `edit before line ${finding.rewrite.line} in ${JSON.stringify(text)}`);
      }),
      { numRuns: 3000 },
    );
  });
});
