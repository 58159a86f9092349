import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_LONE_COMMAND_SHELLS, DEFAULT_SHELLS, lingeringShell, type ShellJudge } from '../../src/core/shell.js';
import {
  EXEC_LINE,
  IGNORED_LINE,
  LONE_COMMAND,
  LONE_COMMAND_EXCLUDED_START,
  LONE_COMMAND_WINDOW,
  loneCommandPrefixPattern,
  PREFIX_WINDOW,
  shellPrefixPattern,
} from '../../src/export/shell-cel.js';
import { scripts, shellWords } from './arbitraries.js';

const DEFAULTS: ShellJudge = { shells: DEFAULT_SHELLS, loneCommandShells: DEFAULT_LONE_COMMAND_SHELLS };

// The patterns are RE2; JavaScript's unicode mode reads them the same way once `\x{..}` is spelled
// `\u{..}`, and both engines pick the leftmost-first match. This mirrors the CEL expression step by
// step, so the patterns can be checked against the engine quickly; the e2e suite runs the real CEL.
function jsRegex(re2: string): RegExp {
  return new RegExp(re2.replace(/\\x\{([0-9a-f]+)\}/g, '\\u{$1}'), 'su');
}

function celSaysViolation(argv: string[], { shells, loneCommandShells }: ShellJudge): boolean {
  if (argv.some((arg) => arg.includes('\u0000'))) return false;
  const line = argv.join('\u0000');
  const window = line.length > PREFIX_WINDOW ? `${line.slice(0, PREFIX_WINDOW)}\u0001` : line;
  const prefix = jsRegex(shellPrefixPattern(shells)).exec(window)?.[0] ?? '';
  if (prefix === '') return false;
  const script = line.slice(prefix.length).split('\u0000')[0] ?? '';
  const lonePrefix = loneCommandPrefixPattern(shells, loneCommandShells);
  const lone =
    lonePrefix !== undefined &&
    jsRegex(lonePrefix).test(prefix) &&
    (script.length > LONE_COMMAND_WINDOW || (jsRegex(LONE_COMMAND).test(script) && !jsRegex(LONE_COMMAND_EXCLUDED_START).test(script)));
  const lines = script
    .replaceAll('\\\r\n', ' ')
    .replaceAll('\\\n', ' ')
    .replaceAll('&&', '\n')
    .replaceAll(';', '\n')
    .split('\n')
    .filter((text) => !jsRegex(IGNORED_LINE).test(text));
  return !(
    lone ||
    (lines.length > 0 && (jsRegex(EXEC_LINE).test(lines[0] ?? '') || jsRegex(EXEC_LINE).test(lines[lines.length - 1] ?? '')))
  );
}

function engineSaysViolation(argv: string[], judge: ShellJudge): boolean {
  return lingeringShell(argv, judge) !== undefined;
}

/** Both the engine and the CEL patterns give `violation`. */
function assertVerdict(argv: string[], params: ShellJudge, violation: boolean): void {
  assert.equal(engineSaysViolation(argv, params), violation, `engine: ${JSON.stringify([params, argv])}`);
  assert.equal(celSaysViolation(argv, params), violation, `CEL: ${JSON.stringify([params, argv])}`);
}

test('known command lines get the engine verdict', () => {
  const cases: string[][] = [
    ['sh', '-c', 'nginx'],
    ['/bin/sh', '-c', 'exec nginx'],
    ['sh', '-c', 'set -e; exec app'],
    ['sh', '-c', 'exec >log 2>&1'],
    ['sh', '-c', 'exec > log app'],
    ['sh', '-c', 'exec 2>&1 app'],
    ['env', 'A=1', '-u', 'sh', 'bash', '-lc', 'run'],
    ['env', '-u', 'sh', '-c', 'x'],
    ['env', 'A=/bin/sh', '-c', 'x'],
    ['busybox', 'sh', '-c', 'sleep 1'],
    ['bash', '-o', 'pipefail', '-c', 'run'],
    ['bash', '-o', '-c', 'x'],
    ['bash', '--', '-c', 'x'],
    ['sh', '-c', '-e', 'exec app'],
    ['sh', '-e', '-c'],
    ['sh', 'script.sh', '-c', 'x'],
    ['sh', '-c', '# comment\nexec app'],
    ['sh', '-c', 'a&&&exec app'],
    ['sh', '-c', 'cd /x \\\n && exec app'],
    ['sh', '-c', 'exec\u00a0app'],
    ['sh', '-c', 'exec\u0085app'],
    ['/usr/bin/dash', '-xec', 'prep; exec "$@"', '--'],
    ['sh', '-c', 'exec\u2028app'],
    ['sh', '-c', 'exec\ufeffapp'],
    ['sh', '-c', `${'a; '.repeat(5000)}exec app`],
    ['tini', '--', 'sh', '-c', 'app'],
    ['/sbin/tini', '-g', '-p', 'SIGKILL', '--', 'env', 'A=1', '/bin/sh', '-c', 'app'],
    ['tini', '-sp', 'SIGKILL', 'sh', '-c', 'app'],
    ['tini', '-p', 'sh', '-c', 'app'],
    ['tini', '-pSIGKILL', 'sh', '-c', 'app'],
    ['tini', '--', '-/sh', '-c', 'app'],
    ['tini', '-/sh', '-c', 'app'],
    ['tini', '-', 'sh', '-c', 'app'],
    ['dumb-init', '--rewrite', '15:2', 'sh', '-c', 'app'],
    ['dumb-init', '--rewrite=15:2', 'sh', '-c', 'app'],
    ['dumb-init', '--rewrite', 'sh', '-c', 'app'],
    ['dumb-init', '-cr', '15:2', 'busybox', 'sh', '-c', 'app'],
    ['catatonit', '-p', 'sh', '-c', 'app'],
    ['env', 'tini', '--', 'sh', '-c', 'app'],
    ['tini', '--', 'tini', '--', 'sh', '-c', 'app'],
    ['tini', '--', 'bash', '-c', 'app'],
    ['dumb-init', 'busybox', 'sh', '-c', 'app'],
  ];
  for (const argv of cases) {
    assert.equal(celSaysViolation(argv, DEFAULTS), engineSaysViolation(argv, DEFAULTS), JSON.stringify(argv));
  }
  assert.equal(celSaysViolation(['sh', '-c', 'nginx'], DEFAULTS), true);
  assert.equal(celSaysViolation(['sh', '-c', 'exec nginx'], DEFAULTS), false);
});

test('generated command lines get the engine verdict', () => {
  fc.assert(
    fc.property(fc.array(shellWords, { maxLength: 7 }), (argv) => celSaysViolation(argv, DEFAULTS) === engineSaysViolation(argv, DEFAULTS)),
    { numRuns: 20_000 },
  );
});

test('a lone simple command passes under the shells that exec it, and only a lone simple command', () => {
  const cases: Array<[string[], boolean]> = [
    [['bash', '-c', 'node server.js'], false],
    [['bash', '-c', '  node  "a b" \'c;d\' e\\;f x#y  '], false],
    [['/bin/busybox', 'sh', '-c', 'app'], false],
    [['env', 'A=1', 'zsh', '-c', 'app'], false],
    [['busybox', 'sh', '-c', 'app; other'], true],
    [['sh', '-c', 'app'], true], // dash does not exec it
    [['dash', '-c', 'app'], true],
    [['bash', '-c', 'app &'], true],
    [['bash', '-c', 'app > log'], true],
    [['bash', '-c', 'app | tee'], true],
    [['bash', '-c', 'app\n'], true],
    [['bash', '-c', 'app "$(date)"'], true],
    [['bash', '-c', 'app "\\$(date)"'], false],
    [['bash', '-c', "app '$(date)'"], false],
    [['bash', '-c', 'app `date`'], true],
    [['bash', '-c', 'app "unclosed'], true],
    [['bash', '-c', 'app \\'], true],
    [['bash', '-c', 'sleep 30'], true], // a builtin of ksh93
    [['bash', '-c', 'A=1 app'], true],
    [['bash', '-c', 'app A=1'], false],
    [['bash', '-c', '# app'], true],
    [['bash', '-c', ''], true],
    [['bash', '-c', '"sleep" 30'], false],
    [['bash', '-c', '[ -f x ]'], true],
    [['bash', '-c', '[x'], false],
  ];
  for (const [argv, violation] of cases) assertVerdict(argv, DEFAULTS, violation);
});

test('an init and its options before the shell are skipped as the engine skips them', () => {
  const cases: Array<[string[], boolean]> = [
    [['tini', '--', 'sh', '-c', 'app'], true],
    [['/sbin/tini', '-g', '--', '/bin/sh', '-c', 'app'], true],
    [['tini', '-sp', 'SIGKILL', 'sh', '-c', 'app'], true],
    [['tini', '-p', 'sh', '-c', 'app'], false], // sh is -p's value
    [['tini', '-pSIGKILL', '--', 'sh', '-c', 'exec app'], false],
    [['dumb-init', '--rewrite', '15:2', 'bash', '-c', 'app; wait'], true],
    [['dumb-init', '--rewrite', 'bash', '-c', 'app; wait'], false], // bash is --rewrite's value
    [['dumb-init', '--rewrite=15:2', 'bash', '-c', 'app'], false], // a lone command under bash
    [['catatonit', '-g', '--', 'env', 'A=1', 'sh', '-c', 'app'], true],
    [['tini', '--', '-/sh', '-c', 'app'], true],
    [['tini', '-/sh', '-c', 'app'], false], // an option of tini, then a program
    [['env', 'tini', '--', 'sh', '-c', 'app'], false],
    [['tini', '--', '/app/server', '-c', 'conf'], false],
  ];
  for (const [argv, violation] of cases) assertVerdict(argv, DEFAULTS, violation);
});

test('loneCommandShells decides which shells exec a lone command; busybox sh only when busybox is listed', () => {
  const cases: Array<[ShellJudge, string[], boolean]> = [
    [{ shells: DEFAULT_SHELLS, loneCommandShells: [] }, ['bash', '-c', 'app'], true],
    [{ shells: DEFAULT_SHELLS, loneCommandShells: ['sh'] }, ['/bin/sh', '-c', 'app'], false],
    [{ shells: DEFAULT_SHELLS, loneCommandShells: ['sh'] }, ['busybox', 'sh', '-c', 'app'], true],
    [{ shells: DEFAULT_SHELLS, loneCommandShells: ['busybox'] }, ['busybox', 'sh', '-c', 'app'], false],
    [{ shells: DEFAULT_SHELLS, loneCommandShells: ['busybox'] }, ['sh', '-c', 'app'], true],
    [{ shells: ['sh', 'busybox'], loneCommandShells: ['busybox'] }, ['busybox', '-c', 'app'], false],
    [{ shells: ['sh'], loneCommandShells: ['bash'] }, ['bash', '-c', 'app'], false], // not a shell at all
  ];
  for (const [params, argv, violation] of cases) assertVerdict(argv, params, violation);
});

test('generated shell command lines, under varied shell lists, get the engine verdict', () => {
  const start = fc.constantFrom<string[]>(
    ['sh'],
    ['/bin/bash'],
    ['zsh'],
    ['mksh'],
    ['ksh'],
    ['dash'],
    ['ash'],
    ['busybox', 'sh'],
    ['/bin/busybox', 'ash'],
    ['busybox'],
    ['env', 'sh'],
    ['/usr/bin/env', '-i', 'A=1', 'bash'],
    ['env', '-u', 'X', 'busybox', 'sh'],
    ['env', 'zsh'],
  );
  const init = fc.constantFrom<string[]>(
    [],
    [],
    ['tini', '--'],
    ['/sbin/tini', '-g', '-p', 'SIGKILL'],
    ['tini-static', '-sp', 'SIGKILL', '--'],
    ['docker-init'],
    ['dumb-init', '--rewrite', '15:2'],
    ['/usr/bin/dumb-init', '-cr', '15:2', '--'],
    ['catatonit', '-g', '--'],
  );
  const flags = fc.constantFrom<string[]>(['-c'], ['-ec'], ['-o', 'pipefail', '-c'], ['-c', '-e'], ['--login', '-c']);
  const names = fc.subarray(['sh', 'bash', 'zsh', 'mksh', 'ksh', 'dash', 'ash', 'busybox', 'env']);
  const params = fc.record({ shells: names.filter((list) => list.length > 0), loneCommandShells: names });
  fc.assert(
    fc.property(init, start, flags, scripts, params, (initArgv, shell, flag, script, shellParams) => {
      const argv = [...initArgv, ...shell, ...flag, script];
      return celSaysViolation(argv, shellParams) === engineSaysViolation(argv, shellParams);
    }),
    { numRuns: 20_000 },
  );
});

test('a script past the lone-command window is admitted unread, in the safe direction', () => {
  const long = `app ${'x'.repeat(LONE_COMMAND_WINDOW)}; other`;
  assert.equal(engineSaysViolation(['bash', '-c', long], DEFAULTS), true);
  assert.equal(celSaysViolation(['bash', '-c', long], DEFAULTS), false);
  // Under a shell that never execs a lone command, it is still read.
  assert.equal(celSaysViolation(['sh', '-c', long], DEFAULTS), true);
});

test('a command line whose launcher and options run past the window is admitted, never misread', () => {
  const options = Array.from({ length: PREFIX_WINDOW / 2 }, () => '-e');
  assert.equal(celSaysViolation(['sh', ...options, '-c', 'x'], DEFAULTS), false);
  // Cut right after "-c" of "-c1" (an operand, not the flag): still not a violation.
  const padding = 'x'.repeat(PREFIX_WINDOW - '/sh\u0000-c'.length - 1);
  assert.equal(celSaysViolation([`/${padding}/sh`, '-c1', 'x'], DEFAULTS), engineSaysViolation([`/${padding}/sh`, '-c1', 'x'], DEFAULTS));
});

test('custom shell names are matched by basename, regex characters literally', () => {
  const shells = ['python3', 'c++sh'];
  for (const argv of [
    ['/opt/c++sh', '-c', 'x'],
    ['python3', '-c', 'x'],
    ['cxxsh', '-c', 'x'],
    ['sh', '-c', 'x'],
  ]) {
    const params = { shells, loneCommandShells: [] };
    assert.equal(celSaysViolation(argv, params), engineSaysViolation(argv, params), JSON.stringify(argv));
  }
});
