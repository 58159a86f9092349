import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_SHELLS, findShellInvocation, scriptHandsOffWithExec } from '../../src/core/shell.js';
import { EXEC_LINE, IGNORED_LINE, PREFIX_WINDOW, shellPrefixPattern } from '../../src/export/shell-cel.js';
import { shellWords } from './arbitraries.js';

// The patterns are RE2; JavaScript's unicode mode reads them the same way once `\x{..}` is spelled
// `\u{..}`, and both engines pick the leftmost-first match. This mirrors the CEL expression step by
// step, so the patterns can be checked against the engine quickly; the e2e suite runs the real CEL.
function jsRegex(re2: string): RegExp {
  return new RegExp(re2.replace(/\\x\{([0-9a-f]+)\}/g, '\\u{$1}'), 'su');
}

function celSaysViolation(argv: string[], shells: readonly string[]): boolean {
  if (argv.some((arg) => arg.includes('\u0000'))) return false;
  const line = argv.join('\u0000');
  const window = line.length > PREFIX_WINDOW ? `${line.slice(0, PREFIX_WINDOW)}\u0001` : line;
  const prefix = jsRegex(shellPrefixPattern(shells)).exec(window)?.[0] ?? '';
  if (prefix === '') return false;
  const lines = (line.slice(prefix.length).split('\u0000')[0] ?? '')
    .replaceAll('\\\r\n', ' ')
    .replaceAll('\\\n', ' ')
    .replaceAll('&&', '\n')
    .replaceAll(';', '\n')
    .split('\n')
    .filter((text) => !jsRegex(IGNORED_LINE).test(text));
  return !(lines.length > 0 && (jsRegex(EXEC_LINE).test(lines[0] ?? '') || jsRegex(EXEC_LINE).test(lines[lines.length - 1] ?? '')));
}

function engineSaysViolation(argv: string[], shells: readonly string[]): boolean {
  const shell = findShellInvocation(argv, shells);
  return shell !== undefined && !scriptHandsOffWithExec(shell.script);
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
  ];
  for (const argv of cases) {
    assert.equal(celSaysViolation(argv, DEFAULT_SHELLS), engineSaysViolation(argv, DEFAULT_SHELLS), JSON.stringify(argv));
  }
  assert.equal(celSaysViolation(['sh', '-c', 'nginx'], DEFAULT_SHELLS), true);
  assert.equal(celSaysViolation(['sh', '-c', 'exec nginx'], DEFAULT_SHELLS), false);
});

test('generated command lines get the engine verdict', () => {
  fc.assert(
    fc.property(
      fc.array(shellWords, { maxLength: 7 }),
      (argv) => celSaysViolation(argv, DEFAULT_SHELLS) === engineSaysViolation(argv, DEFAULT_SHELLS),
    ),
    { numRuns: 20_000 },
  );
});

test('a command line whose launcher and options run past the window is admitted, never misread', () => {
  const options = Array.from({ length: PREFIX_WINDOW / 2 }, () => '-e');
  assert.equal(celSaysViolation(['sh', ...options, '-c', 'x'], DEFAULT_SHELLS), false);
  // Cut right after "-c" of "-c1" (an operand, not the flag): still not a violation.
  const padding = 'x'.repeat(PREFIX_WINDOW - '/sh\u0000-c'.length - 1);
  assert.equal(
    celSaysViolation([`/${padding}/sh`, '-c1', 'x'], DEFAULT_SHELLS),
    engineSaysViolation([`/${padding}/sh`, '-c1', 'x'], DEFAULT_SHELLS),
  );
});

test('custom shell names are matched by basename, regex characters literally', () => {
  const shells = ['python3', 'c++sh'];
  for (const argv of [
    ['/opt/c++sh', '-c', 'x'],
    ['python3', '-c', 'x'],
    ['cxxsh', '-c', 'x'],
    ['sh', '-c', 'x'],
  ]) {
    assert.equal(celSaysViolation(argv, shells), engineSaysViolation(argv, shells), JSON.stringify(argv));
  }
});
