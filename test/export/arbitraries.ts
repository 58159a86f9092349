import fc from 'fast-check';

/** Pieces that the shell parser treats specially, so that generated command lines hit its branches. */
const SCRIPT_PIECES = [
  'exec',
  'exec app',
  ' ',
  '\t',
  '\n',
  '\\\n',
  ';',
  '&&',
  '&',
  '#',
  '>',
  '2>&1',
  '>log',
  '<>',
  '&>',
  '&>>',
  '1',
  'app',
  'set -e',
  '\u00a0',
  '\u0085',
  '\r',
];

/** A script: a few pieces glued together. */
export const scripts = fc.array(fc.constantFrom(...SCRIPT_PIECES), { maxLength: 6 }).map((pieces) => pieces.join(''));

/** One argv word: shells, launchers, flags and scripts. */
export const shellWords = fc.oneof(
  fc.constantFrom(
    'sh',
    '/bin/sh',
    'bash',
    'busybox',
    'env',
    '/usr/bin/env',
    'A=1',
    'A=/bin/sh',
    './sh',
    'x/sh',
    '-u',
    '--unset',
    '-i',
    '-',
  ),
  fc.constantFrom('-c', '-lc', '-ec', '-e', '-o', '+o', '-O', 'pipefail', '--', '--login', '+x', '-x', '-oc', 'script.sh', '', 'c'),
  scripts,
);
