import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  DEFAULT_LONE_COMMAND_SHELLS,
  DEFAULT_SHELLS,
  findShellInvocation,
  scriptHandsOffWithExec,
  shellExecsLoneCommand,
  type ShellInvocation,
} from '../../src/core/shell.js';

describe('DEFAULT_SHELLS', () => {
  test('are the shells named in the spec', () => {
    assert.deepEqual([...DEFAULT_SHELLS].sort(), ['ash', 'bash', 'dash', 'ksh', 'sh', 'zsh']);
  });
});

describe('findShellInvocation: a shell with -c as PID 1', () => {
  const found: [string, string[], ShellInvocation][] = [
    // bare names
    ['sh', ['sh', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['bash', ['bash', '-c', 'run'], { shell: 'bash', flag: '-c', script: 'run' }],
    ['ash', ['ash', '-c', 'run'], { shell: 'ash', flag: '-c', script: 'run' }],
    ['dash', ['dash', '-c', 'run'], { shell: 'dash', flag: '-c', script: 'run' }],
    ['zsh', ['zsh', '-c', 'run'], { shell: 'zsh', flag: '-c', script: 'run' }],
    ['ksh', ['ksh', '-c', 'run'], { shell: 'ksh', flag: '-c', script: 'run' }],
    // any path
    ['/bin/sh', ['/bin/sh', '-c', 'run'], { shell: '/bin/sh', flag: '-c', script: 'run' }],
    ['/usr/bin/bash', ['/usr/bin/bash', '-c', 'run'], { shell: '/usr/bin/bash', flag: '-c', script: 'run' }],
    ['/usr/local/bin/zsh', ['/usr/local/bin/zsh', '-c', 'run'], { shell: '/usr/local/bin/zsh', flag: '-c', script: 'run' }],
    ['relative path', ['./bin/dash', '-c', 'run'], { shell: './bin/dash', flag: '-c', script: 'run' }],
    // launchers
    ['/usr/bin/env sh', ['/usr/bin/env', 'sh', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['env bash', ['env', 'bash', '-c', 'run'], { shell: 'bash', flag: '-c', script: 'run' }],
    [
      'env with -i and NAME=value',
      ['/usr/bin/env', '-i', 'PORT=80', 'A_B=1', '/bin/sh', '-c', 'run'],
      { shell: '/bin/sh', flag: '-c', script: 'run' },
    ],
    ['env -u NAME', ['env', '-u', 'HOME', 'sh', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['busybox sh', ['busybox', 'sh', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run', viaBusybox: true }],
    ['/bin/busybox ash', ['/bin/busybox', 'ash', '-c', 'run'], { shell: 'ash', flag: '-c', script: 'run', viaBusybox: true }],
    // clustered and separate flags
    ['-lc', ['bash', '-lc', 'run'], { shell: 'bash', flag: '-lc', script: 'run' }],
    ['-ec', ['sh', '-ec', 'run'], { shell: 'sh', flag: '-ec', script: 'run' }],
    ['-xec', ['bash', '-xec', 'run'], { shell: 'bash', flag: '-xec', script: 'run' }],
    ['-ce', ['sh', '-ce', 'run'], { shell: 'sh', flag: '-ce', script: 'run' }],
    ['-e -c', ['sh', '-e', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['+x -c', ['sh', '+x', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['-c -e script (options after -c)', ['sh', '-c', '-e', 'run'], { shell: 'sh', flag: '-c', script: 'run' }],
    ['-o pipefail -c', ['bash', '-o', 'pipefail', '-c', 'run'], { shell: 'bash', flag: '-c', script: 'run' }],
    ['--norc -c', ['bash', '--norc', '-c', 'run'], { shell: 'bash', flag: '-c', script: 'run' }],
    ['--login -c', ['bash', '--login', '-c', 'run'], { shell: 'bash', flag: '-c', script: 'run' }],
    // under an init: the shell is its child
    ['tini -- sh -c', ['tini', '--', 'sh', '-c', 'run'], { shell: 'sh', flag: '-c', script: 'run', init: ['tini', '--'] }],
    [
      '/sbin/tini -g -p SIGKILL -- sh -c',
      ['/sbin/tini', '-g', '-p', 'SIGKILL', '--', '/bin/sh', '-c', 'run'],
      { shell: '/bin/sh', flag: '-c', script: 'run', init: ['/sbin/tini', '-g', '-p', 'SIGKILL', '--'] },
    ],
    [
      'tini -sp SIGKILL (value after a cluster)',
      ['tini', '-sp', 'SIGKILL', '--', 'sh', '-c', 'run'],
      { shell: 'sh', flag: '-c', script: 'run', init: ['tini', '-sp', 'SIGKILL', '--'] },
    ],
    [
      'tini -pSIGKILL (attached value)',
      ['tini-static', '-pSIGKILL', 'sh', '-c', 'run'],
      { shell: 'sh', flag: '-c', script: 'run', init: ['tini-static', '-pSIGKILL'] },
    ],
    [
      'dumb-init --rewrite 15:2 bash -c',
      ['/usr/bin/dumb-init', '--rewrite', '15:2', '--single-child', 'bash', '-c', 'run'],
      { shell: 'bash', flag: '-c', script: 'run', init: ['/usr/bin/dumb-init', '--rewrite', '15:2', '--single-child'] },
    ],
    [
      'dumb-init -cr 15:2 sh -c',
      ['dumb-init', '-cr', '15:2', 'sh', '-c', 'run'],
      { shell: 'sh', flag: '-c', script: 'run', init: ['dumb-init', '-cr', '15:2'] },
    ],
    [
      'catatonit -g -- env sh -c',
      ['catatonit', '-g', '--', 'env', 'A=1', 'sh', '-c', 'run'],
      { shell: 'sh', flag: '-c', script: 'run', init: ['catatonit', '-g', '--'] },
    ],
    [
      'docker-init -- busybox sh -c',
      ['/sbin/docker-init', '--', 'busybox', 'sh', '-c', 'run'],
      { shell: 'sh', flag: '-c', script: 'run', viaBusybox: true, init: ['/sbin/docker-init', '--'] },
    ],
    // script missing, extra operands ($0, $1)
    ['-c without a script', ['sh', '-c'], { shell: 'sh', flag: '-c', script: '' }],
    ['-c script $0 $1', ['sh', '-c', 'run "$1"', 'name', 'arg'], { shell: 'sh', flag: '-c', script: 'run "$1"' }],
  ];
  for (const [name, argv, expected] of found) {
    test(`${name}: ${JSON.stringify(argv)}`, () => {
      assert.deepEqual(findShellInvocation(argv), expected);
    });
  }

  const notFound: [string, string[]][] = [
    ['empty command line', []],
    ['exec form', ['/app/server', '--port', '8080']],
    ['program with a -c option', ['envoy', '-c', '/etc/envoy.yaml']],
    ['postgres -c', ['postgres', '-c', 'max_connections=200']],
    ['shell with a script file', ['sh', '/scripts/start.sh']],
    ['shell alone', ['bash']],
    ['shell with options only', ['bash', '-e', '-x']],
    ['script file before -c', ['bash', '/start.sh', '-c', 'x']],
    ['-- ends options', ['sh', '--', '-c', 'x']],
    ['tini -- binary', ['tini', '--', '/app/server']],
    ['/sbin/tini -- binary', ['/sbin/tini', '--', '/app/server', '-c', 'conf']],
    ['dumb-init binary', ['dumb-init', '/app/server']],
    ['/usr/bin/dumb-init -- binary', ['/usr/bin/dumb-init', '--', '/app/server']],
    ['tini -p takes the next word as its value', ['tini', '-p', 'sh', '-c', 'x']],
    ['tini -- before a -c option of the program', ['tini', '--', '/app/server', '-c', 'conf']],
    ['an init after env is not an init', ['env', 'tini', '--', 'sh', '-c', 'x']],
    ['init with options only', ['tini', '-g', '--']],
    ['env with a binary', ['/usr/bin/env', 'PORT=80', '/app/server']],
    ['env alone', ['env']],
    ['busybox applet that is not a shell', ['busybox', 'httpd', '-f', '-c', '/etc/httpd.conf']],
    ['a shell name later in the command line', ['/app/server', 'sh', '-c', 'x']],
    ['name that only contains a shell name', ['shellcheck', '-c', 'x']],
    ['a shell that is not in the list', ['fish', '-c', 'x']],
    ['path whose directory is called sh', ['/sh/server', '-c', 'x']],
    ['+c is not -c', ['sh', '+c', 'x']],
  ];
  for (const [name, argv] of notFound) {
    test(`not a shell -c: ${name}: ${JSON.stringify(argv)}`, () => {
      assert.equal(findShellInvocation(argv), undefined);
    });
  }

  test('the shells list is a parameter: bare names, any path', () => {
    assert.deepEqual(findShellInvocation(['/usr/bin/fish', '-c', 'x'], ['fish']), { shell: '/usr/bin/fish', flag: '-c', script: 'x' });
    assert.equal(findShellInvocation(['sh', '-c', 'x'], ['fish']), undefined);
    assert.deepEqual(findShellInvocation(['busybox', 'fish', '-c', 'x'], ['fish']), {
      shell: 'fish',
      flag: '-c',
      script: 'x',
      viaBusybox: true,
    });
  });
});

describe('scriptHandsOffWithExec', () => {
  const handsOff: [string, string][] = [
    ['exec first', 'exec /app/server'],
    ['exec first, arguments', 'exec /app/server --port 8080 -c conf'],
    ['exec first, then unreachable commands', 'exec /app/server; echo never'],
    ['several spaces', 'exec   /app/server'],
    ['tab', 'exec\t/app/server'],
    ['leading and trailing whitespace', '   exec /app/server   '],
    ['leading newline (YAML block)', '\nexec /app/server\n'],
    ['exec last after ;', 'set -e; ./prepare; exec /app/server'],
    ['exec last after ; with trailing ;', 'cd /app; exec ./server;'],
    ['exec last on its own line', 'set -e\nenvsubst < a > b\nexec /app/server --config b\n'],
    ['comment lines are skipped', '# start the app\nexec /app/server\n# done'],
    ['line continuation', 'exec /app/server \\\n  --port 8080'],
    ['redirection then program', 'exec 2>&1 /app/server'],
    ['program then redirections', 'exec /app/server >>/var/log/app.log 2>&1'],
    ['redirect-only exec, then exec program', 'exec >/var/log/app.log 2>&1; exec /app/server'],
    ['exec with its own option', 'exec -a server /app/server'],
    ['exec after &&', 'cd /app && exec ./server'],
    ['exec after several &&', 'test -f conf && envsubst < conf > out && exec /app/server'],
  ];
  for (const [name, script] of handsOff) {
    test(`hands off: ${name}: ${JSON.stringify(script)}`, () => {
      assert.equal(scriptHandsOffWithExec(script), true);
    });
  }

  const keepsShell: [string, string][] = [
    ['empty script', ''],
    ['plain command', '/app/server'],
    ['loop', 'while true; do sleep 1; done'],
    ['exec as part of a word', 'executor --run'],
    ['exec alone', 'exec'],
    ['exec that only redirects', 'exec >/var/log/app.log 2>&1'],
    ['exec > file (operator and target apart)', 'exec > /dev/null'],
    ['exec opening a file descriptor', 'exec 3</etc/app.conf'],
    ['redirect-only exec first, program after', 'exec >/var/log/app.log 2>&1; /app/server'],
    ['redirect-only exec last', '/app/server & exec > /dev/null'],
    ['exec mentioned in an argument', 'echo exec /app/server'],
    ['only comments', '# exec /app/server'],
    ['exec only as the fallback of ||', '/app/server || exec /app/fallback'],
  ];
  for (const [name, script] of keepsShell) {
    test(`keeps the shell: ${name}: ${JSON.stringify(script)}`, () => {
      assert.equal(scriptHandsOffWithExec(script), false);
    });
  }
});

describe('shellExecsLoneCommand: one simple command on one line, under a shell that execs it', () => {
  const bash = (script: string): ShellInvocation => ({ shell: '/bin/bash', flag: '-c', script });
  const lone = [
    'node server.js',
    '/app/server --port 8080',
    '  /app/server  ',
    'node server.js --port "$PORT" --name \'a b; c\'',
    'java $JAVA_OPTS -jar /app.jar',
    '"/opt/my app/bin/run"',
    'app --flag="x \\" y"',
    'app a\\;b',
    'app --env=FOO=bar',
  ];
  for (const script of lone) {
    test(`lone: ${JSON.stringify(script)}`, () => assert.equal(shellExecsLoneCommand(bash(script)), true));
  }
  const notLone = [
    '',
    '   ',
    'app; true',
    'true; app',
    'setup && app',
    'app || true',
    'app &',
    'app | tee log',
    'app > /var/log/app.log',
    'app 2>&1',
    'app </dev/null',
    '(app)',
    '{ app; }',
    'app $(cat /args)',
    'app `cat /args`',
    'app "$(cat /args)"',
    'app\n',
    'app\nother',
    'app \\\nmore',
    'app # comment',
    'PORT=80 app',
    'trap "" TERM',
    'sleep infinity',
    'wait',
    'read line',
    'cd /app',
    'eval app',
    'exec',
    'while true',
    'app "unterminated',
    "app 'unterminated",
  ];
  for (const script of notLone) {
    test(`not lone: ${JSON.stringify(script)}`, () => assert.equal(shellExecsLoneCommand(bash(script)), false));
  }

  test('only the listed shells, by bare name; busybox applets count as busybox', () => {
    assert.equal(shellExecsLoneCommand({ shell: '/bin/sh', flag: '-c', script: 'app' }), false);
    assert.equal(shellExecsLoneCommand({ shell: 'dash', flag: '-c', script: 'app' }), false);
    assert.equal(shellExecsLoneCommand({ shell: 'sh', flag: '-c', script: 'app', viaBusybox: true }), true);
    assert.equal(shellExecsLoneCommand({ shell: '/usr/bin/zsh', flag: '-c', script: 'app' }), true);
    assert.equal(shellExecsLoneCommand({ shell: 'bash', flag: '-c', script: 'app' }, []), false);
    assert.equal(shellExecsLoneCommand({ shell: 'sh', flag: '-c', script: 'app' }, ['sh']), true);
  });
});

describe('DEFAULT_LONE_COMMAND_SHELLS against the measurement (docs/rules/shell-measurement.tsv)', () => {
  const rows = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rules', 'shell-measurement.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [shell = '', , , script = '', result = ''] = line.split('\t');
      return { shell, script: script.replaceAll('\\n', '\n'), exec: result === 'exec' };
    });
  // Which measured shell runs for each name the default list holds.
  const measuredAs: Record<string, string[]> = {
    bash: ['bash'],
    zsh: ['zsh'],
    mksh: ['mksh'],
    ksh93: ['ksh93'],
    ksh: ['mksh', 'ksh93'],
    ash: ['busybox sh'],
    busybox: ['busybox sh'],
  };

  test('every listed shell was measured', () => {
    assert.deepEqual([...DEFAULT_LONE_COMMAND_SHELLS].sort(), Object.keys(measuredAs).sort());
    for (const shells of Object.values(measuredAs)) {
      for (const shell of shells)
        assert.ok(
          rows.some((row) => row.shell === shell),
          `${shell} has no measurement`,
        );
    }
  });

  test('a script the rule lets pass under a listed shell was measured to exec there', () => {
    let accepted = 0;
    for (const [name, implementations] of Object.entries(measuredAs)) {
      for (const row of rows.filter((candidate) => implementations.includes(candidate.shell))) {
        const passes = scriptHandsOffWithExec(row.script) || shellExecsLoneCommand({ shell: name, flag: '-c', script: row.script });
        if (passes) accepted += 1;
        assert.ok(!passes || row.exec, `${name} (${row.shell}) passes ${JSON.stringify(row.script)}, but it stays PID 1 there`);
      }
    }
    assert.ok(accepted >= 14, `only ${accepted} measured scripts pass: the parser accepts too little`);
  });

  test("dash, Debian's sh, keeps a lone command as its child: neither sh nor dash is listed", () => {
    const dash = rows.filter((row) => row.shell === 'dash' && !row.script.startsWith('exec'));
    assert.ok(dash.length > 0 && dash.every((row) => !row.exec));
    assert.ok(!DEFAULT_LONE_COMMAND_SHELLS.includes('sh') && !DEFAULT_LONE_COMMAND_SHELLS.includes('dash'));
  });
});
