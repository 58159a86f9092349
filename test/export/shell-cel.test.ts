import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_SHELLS, findShellInvocation, scriptHandsOffWithExec } from '../../src/core/shell.js';
import { FIRST_LINE_EXECS, LAST_LINE_EXECS, shellPrefixPattern } from '../../src/export/shell-cel.js';
import { shellWords } from './arbitraries.js';

// The patterns are RE2; JavaScript's unicode mode reads them the same way once `\x{..}` is spelled
// `\u{..}`, and both engines pick the leftmost-first match. This mirrors the CEL expression step by
// step, so the patterns can be checked against the engine quickly; the e2e suite runs the real CEL.
function jsRegex(re2: string): RegExp {
  return new RegExp(re2.replace(/\\x\{([0-9a-f]+)\}/g, '\\u{$1}'), 'u');
}

function celSaysViolation(argv: string[], shells: readonly string[]): boolean {
  if (argv.some((arg) => arg.includes('\u0000'))) return false;
  const line = argv.join('\u0000');
  const prefix = jsRegex(shellPrefixPattern(shells)).exec(line)?.[0] ?? '';
  if (prefix === '') return false;
  const script = (line.slice(prefix.length).split('\u0000')[0] ?? '')
    .replaceAll('\\\r\n', ' ')
    .replaceAll('\\\n', ' ')
    .replaceAll('&&', '\n')
    .replaceAll(';', '\n');
  return !jsRegex(FIRST_LINE_EXECS).test(script) && !jsRegex(LAST_LINE_EXECS).test(script);
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
  ];
  for (const argv of cases) {
    assert.equal(celSaysViolation(argv, DEFAULT_SHELLS), engineSaysViolation(argv, DEFAULT_SHELLS), JSON.stringify(argv));
  }
  assert.equal(celSaysViolation(['sh', '-c', 'nginx'], DEFAULT_SHELLS), true);
  assert.equal(celSaysViolation(['sh', '-c', 'exec nginx'], DEFAULT_SHELLS), false);
});

test('generated command lines get the engine verdict', () => {
  fc.assert(
    fc.property(fc.array(shellWords, { maxLength: 7 }), (argv) => celSaysViolation(argv, DEFAULT_SHELLS) === engineSaysViolation(argv, DEFAULT_SHELLS)),
    { numRuns: 20_000 },
  );
});

test('custom shell names are matched by basename, regex characters literally', () => {
  const shells = ['python3', 'c++sh'];
  for (const argv of [['/opt/c++sh', '-c', 'x'], ['python3', '-c', 'x'], ['cxxsh', '-c', 'x'], ['sh', '-c', 'x']]) {
    assert.equal(celSaysViolation(argv, shells), engineSaysViolation(argv, shells), JSON.stringify(argv));
  }
});
