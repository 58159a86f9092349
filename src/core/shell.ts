/**
 * Recognises a container command line that makes a shell PID 1: `sh -c "..."` and its variants.
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
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
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
  const command = stripLauncher(argv, shells);
  const shell = command[0];
  if (shell === undefined || !shells.has(basename(shell))) return undefined;
  const options = command.slice(1);
  const found = findCommandFlag(options);
  if (!found) return undefined;
  return { shell, flag: found.flag, script: options[found.scriptIndex] ?? '' };
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
