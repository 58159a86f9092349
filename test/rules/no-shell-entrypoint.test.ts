import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonObject } from '../../src/core/types.js';
import { flagged, findingsOf, pod, WORKLOAD_KINDS, wrap } from './helpers.js';

const RULE = 'no-shell-entrypoint';
/** No shell counts as handing a lone command off: every `-c` script without `exec` is flagged. */
const STRICT = { loneCommandShells: [] };

/** A container that runs `command`/`args` (either may be undefined). */
function container(name: string, command?: unknown, args?: unknown, extra: JsonObject = {}): JsonObject {
  return {
    name,
    image: 'example/app',
    ...(command === undefined ? {} : { command }),
    ...(args === undefined ? {} : { args }),
    ...extra,
  };
}

describe('no-shell-entrypoint: flagged command lines', () => {
  const cases: [string, unknown, unknown?][] = [
    ['sh -c', ['sh', '-c', './server']],
    ['bash -c', ['bash', '-c', './server']],
    ['ash -c', ['ash', '-c', './server']],
    ['dash -c', ['dash', '-c', './server']],
    ['zsh -c', ['zsh', '-c', './server']],
    ['ksh -c', ['ksh', '-c', './server']],
    ['/bin/sh -c', ['/bin/sh', '-c', './server']],
    ['/bin/bash -c', ['/bin/bash', '-c', './server']],
    ['/usr/local/bin/ksh -c', ['/usr/local/bin/ksh', '-c', './server']],
    ['/usr/bin/env sh -c', ['/usr/bin/env', 'sh', '-c', './server']],
    ['/usr/bin/env bash -c', ['/usr/bin/env', 'bash', '-c', './server']],
    ['env VAR=x sh -c', ['env', 'PORT=8080', 'sh', '-c', './server']],
    ['busybox sh -c', ['busybox', 'sh', '-c', './server']],
    ['/bin/busybox sh -c', ['/bin/busybox', 'sh', '-c', './server']],
    ['bash -lc', ['bash', '-lc', './server']],
    ['sh -ec', ['sh', '-ec', './server']],
    ['bash -xec', ['bash', '-xec', './server']],
    ['sh -e -c', ['sh', '-e', '-c', './server']],
    ['shell in command, -c in args', ['/bin/sh'], ['-c', './server']],
    ['shell and a flag in command, -c in args', ['bash', '-e'], ['-c', './server']],
    ['shell in command, clustered -c in args', ['bash'], ['-xec', './server']],
    ['args alone when command is unset', undefined, ['/bin/sh', '-c', './server']],
    ['args alone when command is an empty list', [], ['sh', '-c', './server']],
    ['script split between command and args', ['sh', '-c'], ['./server']],
    ['-c without a script', ['sh', '-c']],
    ['exec that only redirects, then the program', ['sh', '-c', 'exec >/var/log/app.log 2>&1; ./server']],
    ['exec that only redirects', ['sh', '-c', 'exec 2>&1']],
    ['a word that starts with exec', ['sh', '-c', 'executor --serve']],
    ['a loop', ['sh', '-c', 'while true; do sleep 1; done']],
    ['tini -- sh -c', ['tini', '--', 'sh', '-c', './server']],
    ['/sbin/tini -g -- sh -c (process-group forwarding)', ['/sbin/tini', '-g', '--', '/bin/sh', '-c', './server; echo done']],
    ['tini -- in command, sh -c in args', ['/usr/bin/tini', '--'], ['sh', '-c', './server']],
    ['dumb-init sh -c', ['/usr/bin/dumb-init', 'sh', '-c', './server']],
    ['dumb-init --rewrite 15:2 -- bash -c', ['dumb-init', '--rewrite', '15:2', '--', 'bash', '-c', './server']],
    ['catatonit -- env sh -c', ['catatonit', '--', 'env', 'A=1', 'sh', '-c', './server']],
    ['tini-static -s sh -c', ['tini-static', '-s', 'sh', '-c', './server']],
  ];
  // Strict: many of these scripts are a lone command, which the shells that exec it would hand off.
  for (const [name, command, args] of cases) {
    test(name, () => {
      assert.deepEqual(flagged(RULE, pod([container('app', command, args)]), STRICT), ['app']);
    });
  }

  test('the message names the shell and the flag as written', () => {
    const [finding] = findingsOf(RULE, pod([container('app', ['/bin/bash', '-xec', 'run'])]), STRICT);
    assert.equal(finding?.container, 'app');
    assert.match(finding?.message ?? '', /`\/bin\/bash -xec` as PID 1/);
    assert.equal(finding?.type, 'validating');
    assert.equal(finding?.mode, 'enforce');
  });

  test('under an init, the message names it and what happens to the app', () => {
    const [finding] = findingsOf(RULE, pod([container('app', ['/sbin/tini', '-g', '--', 'sh', '-c', './server; echo done'])]));
    assert.equal(
      finding?.message,
      'runs `sh -c` under tini: the shell dies of the SIGTERM tini forwards, tini exits with it, and the app is SIGKILLed before it can shut down',
    );
  });

  test('under an init, a script that hands off with exec, or a lone command under bash, passes', () => {
    assert.deepEqual(flagged(RULE, pod([container('app', ['tini', '--', 'sh', '-c', 'cd /app && exec ./server'])])), []);
    assert.deepEqual(flagged(RULE, pod([container('app', ['dumb-init', 'bash', '-c', './server --port 80'])])), []);
    assert.deepEqual(flagged(RULE, pod([container('app', ['dumb-init', 'bash', '-c', './server --port 80'])]), STRICT), ['app']);
  });

  test('a native sidecar is flagged', () => {
    const object = wrap('Deployment', {
      initContainers: [container('log-shipper', ['sh', '-c', 'tail -F /log'], undefined, { restartPolicy: 'Always' })],
      containers: [container('app', ['/app/server'])],
    });
    assert.deepEqual(flagged(RULE, object), ['log-shipper']);
  });

  test('exact containers among many', () => {
    const object = pod([
      container('exec-form', ['/app/server']),
      container('shell', ['sh', '-c', './server']),
      container('exec-script', ['sh', '-c', 'exec ./server']),
      container('args-shell', undefined, ['bash', '-c', './server']),
      container('image-default'),
    ]);
    assert.deepEqual(flagged(RULE, object, STRICT), ['args-shell', 'shell']);
  });

  for (const kind of WORKLOAD_KINDS) {
    test(`${kind}: its containers are checked (run-to-completion ones with includeRunToCompletion)`, () => {
      const runsToCompletion = kind === 'Job' || kind === 'CronJob';
      const object = wrap(kind, {
        restartPolicy: runsToCompletion ? 'Never' : 'Always',
        containers: [container('main', ['sh', '-c', 'run'])],
      });
      assert.deepEqual(flagged(RULE, object, { includeRunToCompletion: true }), ['main']);
      assert.deepEqual(flagged(RULE, object), runsToCompletion ? [] : ['main']);
    });
  }

  test('Pods that restart Never or OnFailure are exempt unless includeRunToCompletion is on', () => {
    for (const restartPolicy of ['Never', 'OnFailure']) {
      const object = pod([container('once', ['sh', '-c', 'date; echo Hello'])], { restartPolicy });
      assert.deepEqual(flagged(RULE, object), [], restartPolicy);
      assert.deepEqual(flagged(RULE, object, { includeRunToCompletion: true }), ['once'], restartPolicy);
    }
  });

  test('a lone command passes under a shell that execs it, is flagged under one that does not, and always when strict', () => {
    const object = pod([
      container('bash', ['bash', '-c', 'node server.js']),
      container('sh', ['/bin/sh', '-c', 'node server.js']),
      container('busybox-sh', ['busybox', 'sh', '-c', 'node server.js']),
    ]);
    assert.deepEqual(flagged(RULE, object), ['sh']);
    assert.deepEqual(flagged(RULE, object, STRICT), ['bash', 'busybox-sh', 'sh']);
    assert.deepEqual(flagged(RULE, object, { loneCommandShells: ['sh'] }), ['bash', 'busybox-sh']);
  });

  test('the shells parameter replaces the list', () => {
    const object = pod([container('fish', ['/usr/bin/fish', '-c', 'run']), container('sh', ['sh', '-c', 'run'])]);
    assert.deepEqual(flagged(RULE, object, { shells: ['fish'] }), ['fish']);
    assert.deepEqual(flagged(RULE, object), ['sh']);
  });
});

describe('no-shell-entrypoint: not flagged', () => {
  const cases: [string, unknown, unknown?][] = [
    ['script that begins with exec', ['sh', '-c', 'exec ./server --port 8080']],
    ['script that begins with exec, after whitespace', ['/bin/sh', '-c', '\n  exec ./server\n']],
    ['script whose last command is exec', ['bash', '-ec', 'set -e; ./prepare; exec ./server']],
    ['multi-line script ending with exec', ['sh', '-c', 'envsubst < a > b\nexec ./server --config b\n']],
    ['redirect-only exec, then exec of the program', ['sh', '-c', 'exec >/var/log/app.log 2>&1; exec ./server']],
    ['exec with redirections', ['sh', '-c', 'exec ./server >>/var/log/app.log 2>&1']],
    ['exec script with -c in args', ['/bin/sh'], ['-c', 'exec ./server']],
    ['env sh -c exec', ['/usr/bin/env', 'sh', '-c', 'exec ./server']],
    ['busybox sh -c exec', ['busybox', 'sh', '-c', 'exec httpd -f']],
    ['exec form', ['/app/server', '--port', '8080']],
    ['exec form with a -c option', ['envoy', '-c', '/etc/envoy.yaml']],
    ['args with a -c option and the image entrypoint', undefined, ['postgres', '-c', 'max_connections=200']],
    ['image entrypoint (no command, no args)', undefined, undefined],
    ['tini -- binary', ['/sbin/tini', '--', '/app/server']],
    ['tini -- in command, binary in args', ['tini', '--'], ['/app/server']],
    ['dumb-init binary', ['dumb-init', '/app/server']],
    ['dumb-init -- binary', ['/usr/bin/dumb-init', '--', '/app/server', '--port', '8080']],
    ['shell running a script file', ['sh', '/scripts/start.sh']],
    ['shell with no -c', ['bash']],
    ['shell name as a later argument', ['/app/server', 'sh', '-c', 'x']],
  ];
  for (const [name, command, args] of cases) {
    test(name, () => {
      assert.deepEqual(flagged(RULE, pod([container('app', command, args)])), []);
    });
  }

  test('lifecycle hooks and probes may use a shell', () => {
    const shell = { exec: { command: ['sh', '-c', 'curl -sf localhost/healthz'] } };
    const object = pod([
      container('app', ['/app/server'], undefined, {
        lifecycle: { postStart: shell, preStop: { exec: { command: ['/bin/bash', '-c', 'sleep 5'] } } },
        readinessProbe: shell,
        livenessProbe: shell,
        startupProbe: shell,
      }),
    ]);
    assert.deepEqual(flagged(RULE, object), []);
  });

  test('run-to-completion init containers may use a shell', () => {
    const object = wrap('StatefulSet', {
      initContainers: [
        container('wait', ['sh', '-c', 'until nc -z db 5432; do sleep 1; done']),
        container('never', ['sh', '-c', 'cp /a /b'], undefined, { restartPolicy: 'Never' }),
      ],
      containers: [container('db', ['postgres'])],
    });
    assert.deepEqual(flagged(RULE, object), []);
  });

  test('other kinds produce nothing', () => {
    for (const kind of ['PodTemplate', 'CloneSet', 'ConfigMap', 'Service']) {
      assert.deepEqual(flagged(RULE, wrap(kind, { containers: [container('app', ['sh', '-c', 'run'])] })), [], kind);
    }
  });

  test('a command that is a string instead of a list is not a shell command line (and does not throw)', () => {
    assert.deepEqual(flagged(RULE, pod([container('app', 'sh -c ./server')])), []);
    // ...but args are still read when command is unusable.
    assert.deepEqual(flagged(RULE, pod([container('app', 'ignored', ['sh', '-c', './server; wait'])])), ['app']);
  });

  test('non-string items in command do not throw', () => {
    assert.deepEqual(flagged(RULE, pod([container('app', ['sh', '-c', 42])])), ['app']);
    assert.deepEqual(flagged(RULE, pod([container('app', [null, '-c', 'x'])])), []);
    assert.deepEqual(flagged(RULE, pod([container('app', ['sh', '-c', { exec: 'x' }])])), ['app']);
  });
});
