/**
 * Recognises a container command line that makes a shell PID 1, or the child of an init such as tini:
 * `sh -c "..."` and its variants.
 * Such a shell receives SIGTERM but neither handles nor forwards it, so the app is SIGKILLed
 * when the grace period ends.
 */

export const DEFAULT_SHELLS: readonly string[] = ['sh', 'bash', 'ash', 'dash', 'zsh', 'ksh'];

export interface ShellInvocation {
  /** The shell as written, e.g. `/bin/sh` or `bash`. */
  shell: string;
  /** The -c flag as written, e.g. `-c` or `-ec`. */
  flag: string;
  /** The script passed to -c ('' when missing). */
  script: string;
  /** Started as a busybox applet (`busybox sh -c ...`): busybox's shell runs, whatever `shell` says. */
  viaBusybox?: boolean;
  /** The init the shell runs under, as written with its options (`["/sbin/tini", "-g", "--"]`); the shell is its child. */
  init?: readonly string[];
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Inits that run one child and forward signals to it (tini, Docker's `--init` which is tini as docker-init,
 * dumb-init, catatonit, Podman's `--init`), by basename, with their options that take a value: the short
 * letters and the long options. Under them the child must still handle SIGTERM; a shell child does not: it
 * dies of the signal, the init exits with it, and the app is SIGKILLed with the container, also when the
 * init signals the whole process group (`tini -g`, dumb-init's default, `catatonit -g`): measured by
 * scripts/measure-inits.sh, see the rule reference.
 */
export const INIT_PROCESSES: ReadonlyMap<string, { valuedShort: string; valuedLong: readonly string[] }> = new Map([
  ['tini', { valuedShort: 'pe', valuedLong: [] }],
  ['tini-static', { valuedShort: 'pe', valuedLong: [] }],
  ['docker-init', { valuedShort: 'pe', valuedLong: [] }],
  ['dumb-init', { valuedShort: 'r', valuedLong: ['--rewrite'] }],
  ['catatonit', { valuedShort: '', valuedLong: [] }],
]);

/**
 * Splits off the init at the head of a command line with its options: every word starting with `-`
 * up to the first that does not, or through `--`. A value-taking option (`-p SIGKILL`, `-sp SIGKILL`,
 * `--rewrite 15:2`) takes the next word too unless the value is attached (`-pSIGKILL`, `--rewrite=15:2`).
 */
export function splitInit(argv: readonly string[]): { init?: readonly string[]; command: readonly string[] } {
  const options = INIT_PROCESSES.get(basename(argv[0] ?? ''));
  if (options === undefined) return { command: argv };
  let index = 1;
  while (index < argv.length) {
    const arg = argv[index] ?? '';
    if (arg === '--') {
      index += 1;
      break;
    }
    if (!arg.startsWith('-')) break;
    // In a cluster of short options (`-sp`), the first value-taking letter takes the rest of the word, or the next word.
    const valued = arg.startsWith('--')
      ? options.valuedLong.includes(arg)
      : arg.length > 1 && [...arg.slice(1)].findIndex((letter) => options.valuedShort.includes(letter)) === arg.length - 2;
    index += valued ? 2 : 1;
  }
  return { init: argv.slice(0, index), command: argv.slice(index) };
}

/** Skips the launchers that start a shell without becoming PID 1's signal handler themselves. */
function stripLauncher(argv: readonly string[], shells: ReadonlySet<string>): readonly string[] {
  const first = argv[0];
  if (first === undefined) return argv;
  const name = basename(first);
  if (name === 'env') {
    // env [-i] [-u NAME] [NAME=value]... shell
    let index = 1;
    while (index < argv.length) {
      const arg = argv[index] ?? '';
      if (arg === '-u' || arg === '--unset') index += 2;
      else if (arg.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) index += 1;
      else break;
    }
    return argv.slice(index);
  }
  if (name === 'busybox' && shells.has(basename(argv[1] ?? ''))) return argv.slice(1);
  return argv;
}

/** Finds the -c flag among the shell's options; stops at the first operand (a script file). */
function findCommandFlag(options: readonly string[]): { flag: string; scriptIndex: number } | undefined {
  let index = 0;
  while (index < options.length) {
    const arg = options[index] ?? '';
    if (arg === '--') return undefined;
    if (arg === '-o' || arg === '+o' || arg === '-O' || arg === '+O') {
      index += 2; // these take a value: `bash -o pipefail -c ...`
      continue;
    }
    if (arg.startsWith('--')) {
      index += 1; // long options such as --login or --norc
      continue;
    }
    if (/^[-+][A-Za-z]+$/.test(arg)) {
      if (arg.startsWith('-') && arg.includes('c')) {
        // The script is the first operand after all options: `sh -c -e 'script'` is legal too.
        let scriptIndex = index + 1;
        while (scriptIndex < options.length && /^[-+][A-Za-z]+$/.test(options[scriptIndex] ?? '')) scriptIndex += 1;
        return { flag: arg, scriptIndex };
      }
      index += 1;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** The shell invocation that a command line starts with, or undefined when PID 1 is not a `shell -c`. */
export function findShellInvocation(argv: readonly string[], shellNames: readonly string[] = DEFAULT_SHELLS): ShellInvocation | undefined {
  const shells = new Set(shellNames);
  const { init, command: launched } = splitInit(argv);
  const command = stripLauncher(launched, shells);
  const viaBusybox = command !== launched && basename(launched[0] ?? '') === 'busybox';
  const shell = command[0];
  if (shell === undefined || !shells.has(basename(shell))) return undefined;
  const options = command.slice(1);
  const found = findCommandFlag(options);
  if (!found) return undefined;
  return {
    shell,
    flag: found.flag,
    script: options[found.scriptIndex] ?? '',
    ...(viaBusybox ? { viaBusybox } : {}),
    ...(init === undefined ? {} : { init }),
  };
}

/** A redirection operator, alone (`>` then a file) or with its target (`>log`, `2>&1`). */
const REDIRECTION_OPERATOR = /^(\d*(<|>|>>|<>|>&|<&)|&>|&>>)$/;
const REDIRECTION_WITH_TARGET = /^(\d*[<>]|&>)/;

function execsProgram(command: string): boolean {
  const words = command.split(/\s+/);
  if (words[0] !== 'exec') return false;
  for (let index = 1; index < words.length; index += 1) {
    const word = words[index] ?? '';
    if (REDIRECTION_OPERATOR.test(word)) index += 1;
    else if (!REDIRECTION_WITH_TARGET.test(word)) return true;
  }
  return false; // `exec >log 2>&1` only redirects the shell's own output
}

/**
 * True when the script hands PID 1 to a program with `exec`: as its first command, or as its last
 * one after some setup (`set -e; exec app`, `cd /app && exec app`). The shell replaces itself with the program, which
 * then receives SIGTERM directly.
 */
export function scriptHandsOffWithExec(script: string): boolean {
  const commands = script
    .replace(/\\\r?\n/g, ' ')
    // `a && exec b` hands off too: if `a` fails, the shell exits instead of lingering as PID 1.
    .split(/\n|;|&&/)
    .map((command) => command.trim())
    .filter((command) => command !== '' && !command.startsWith('#'));
  const first = commands[0];
  const last = commands[commands.length - 1];
  return (first !== undefined && execsProgram(first)) || (last !== undefined && execsProgram(last));
}

/**
 * Shells that replace themselves with the program when the whole `-c` script is one simple command,
 * so that the program, not the shell, ends up as PID 1. Measured by scripts/measure-shells.sh
 * (docs/rules/shell-measurement.tsv) with Debian 12's packages: bash 5.2, zsh 5.9, mksh 59c, ksh93u+m
 * 1.0.4 and busybox 1.35 (`busybox sh`; Alpine's `sh` and `ash` are busybox) exec it. dash 0.5.12, which
 * is `sh` on Debian and Ubuntu, does not, so `sh` and `dash` are not listed. `ksh` is mksh or ksh93:
 * both exec it.
 */
export const DEFAULT_LONE_COMMAND_SHELLS: readonly string[] = ['bash', 'zsh', 'mksh', 'ksh', 'ksh93', 'ash', 'busybox'];

/**
 * Builtins and reserved words of bash, dash, zsh, mksh, ksh93 and busybox: a shell runs them itself,
 * so it stays PID 1 (ksh93's `sleep` is one).
 */
export const SHELL_BUILTINS: ReadonlySet<string> = new Set(
  (
    '! . : [ [[ { } alias autoload bg bind break builtin caller case cd command compgen complete compound coproc continue ' +
    'declare dirs disown do done echo elif else enable enum esac eval exec exit export false fc fg fi float for function ' +
    'functions getopts hash help hist history if in integer jobs kill let local logout nameref popd print printf pushd ' +
    'pwd read readarray readonly redirect return select set shift shopt sleep source stop suspend test then time times ' +
    'trap true type typeset ulimit umask unalias unset until wait whence while'
  ).split(' '),
);

/**
 * The words of a script that is one simple command on one line (a program and its arguments, quoted
 * or not, with `$VAR` expansions), or undefined when it is anything else: lists (`;`, `&&`, `||`,
 * `&`), pipes, redirections, subshells, command substitutions, comments, line breaks (mksh and busybox
 * keep running when the script ends with one), or a variable assignment before the command (mksh
 * keeps running then). Quotes are kept in the words.
 */
function loneSimpleCommand(script: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < script.length; index += 1) {
    const char = script.charAt(index);
    if (quote === "'") {
      if (char === "'") quote = undefined;
      word = (word ?? '') + char;
      continue;
    }
    if (char === '`' || (char === '$' && script.charAt(index + 1) === '(')) return undefined;
    if (quote === '"') {
      if (char === '"') quote = undefined;
      // A backslash escapes the next character inside double quotes too: `"a\"b"` is one word.
      const escaped = char === '\\' ? script.charAt((index += 1)) : '';
      word = (word ?? '') + char + escaped;
      continue;
    }
    if (char === ' ' || char === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (/[;&|<>()\n\r]/.test(char) || (char === '#' && word === undefined)) return undefined;
    if (char === '\\') {
      const next = script.charAt(index + 1);
      if (next === '' || next === '\n' || next === '\r') return undefined;
      word = (word ?? '') + char + next;
      index += 1;
      continue;
    }
    if (char === "'" || char === '"') quote = char;
    word = (word ?? '') + char;
  }
  if (quote !== undefined) return undefined;
  if (word !== undefined) words.push(word);
  const program = words[0];
  if (program === undefined || SHELL_BUILTINS.has(program) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(program)) return undefined;
  return words;
}

/** The shell that actually runs: `busybox` for `busybox sh`, else the shell's own name. */
function shellImplementation(invocation: ShellInvocation): string {
  return invocation.viaBusybox ? 'busybox' : basename(invocation.shell);
}

/**
 * True when the shell replaces itself with the script's only command: the script is one simple
 * command on one line and the shell is one of `loneCommandShells` (by bare name).
 */
export function shellExecsLoneCommand(
  invocation: ShellInvocation,
  loneCommandShells: readonly string[] = DEFAULT_LONE_COMMAND_SHELLS,
): boolean {
  return loneCommandShells.includes(shellImplementation(invocation)) && loneSimpleCommand(invocation.script) !== undefined;
}

/** What decides whether a shell stays PID 1's signal handler: the rule's `shells` and `loneCommandShells`. */
export interface ShellJudge {
  shells: readonly string[];
  loneCommandShells: readonly string[];
}

/**
 * The `shell -c` that a command line leaves between SIGTERM and the program, if any: PID 1 itself, or
 * the child of an init. None when the script hands off with `exec` or the shell execs a lone command.
 * The one verdict for manifests, image configs and Dockerfiles.
 */
export function lingeringShell(argv: readonly string[], { shells, loneCommandShells }: ShellJudge): ShellInvocation | undefined {
  const shell = findShellInvocation(argv, shells);
  return shell === undefined || scriptHandsOffWithExec(shell.script) || shellExecsLoneCommand(shell, loneCommandShells) ? undefined : shell;
}
