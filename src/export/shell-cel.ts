/**
 * The no-shell-entrypoint check (core/shell.ts) restated as RE2 regular expressions for CEL.
 *
 * CEL has no loops with state, but the engine's parsing is a regular language over the argv tokens,
 * so it can be said exactly: the argv is joined with NUL (a byte no argument of a real container
 * holds; arguments that do are left alone, see SHELL_DIFFERENCES), `find` returns the prefix up to
 * the script, and two patterns decide whether the script hands off with `exec`.
 * Every alternative below is written so that a token can be read only one way, as the engine reads it.
 */
import { INIT_PROCESSES, SHELL_BUILTINS, type ShellJudge } from '../core/shell.js';

/** Separator of argv tokens in the joined command line. */
const SEP = '\\x00';
/** One argv token (possibly empty). */
const TOKEN = `[^${SEP}]*`;

/**
 * JavaScript's `\s` (and String.prototype.trim's set), which RE2's `\s` is not: tab to carriage
 * return, Unicode's space separators (Zs, Zl, Zp, which include the space) and the BOM.
 */
const WS_CHARS = '\\x09-\\x0d\\p{Z}\\x{feff}';
const WS = `[${WS_CHARS}]`;
const NON_WS = `[^${WS_CHARS}]`;

/** A pattern that matches nothing: a character outside every character. */
const NOTHING = '[^\\x00-\\x{10ffff}]';

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function escapeClassChar(char: string): string {
  return /[\\\]^-]/.test(char) ? `\\${char}` : char;
}

/** A token that is none of `words`: every prefix of them, continued differently or ended elsewhere. */
function tokenExcept(words: readonly string[], prefix = ''): string {
  const next = new Set(
    words.filter((word) => word.startsWith(prefix) && word.length > prefix.length).map((word) => word[prefix.length] ?? ''),
  );
  const alternatives: string[] = [];
  if (!words.includes(prefix)) alternatives.push('');
  for (const char of next) alternatives.push(escapeRegex(char) + tokenExcept(words, prefix + char));
  alternatives.push(`[^${SEP}${[...next].map(escapeClassChar).join('')}]${TOKEN}`);
  return `(?:${alternatives.join('|')})`;
}

/** Exactly one of `names`; nothing at all when there are none. */
function oneOf(names: readonly string[]): string {
  return names.length === 0 ? NOTHING : `(?:${names.map(escapeRegex).join('|')})`;
}

/**
 * A path whose basename is one of `names`; with `noDash`, one that does not start with `-` (after an
 * init's options without `--`, a word starting with `-` would be one more option).
 */
function programToken(names: readonly string[], noDash = false): string {
  if (!noDash) return `(?:${TOKEN}/)?${oneOf(names)}`;
  return `(?:(?:[^${SEP}\\-]${TOKEN})?/)?${oneOf(names.filter((name) => !name.startsWith('-')))}`;
}

/**
 * After `env`, the program: a token that neither starts with `-` nor is an assignment (`NAME=...`),
 * whose basename is a shell.
 */
function programAfterEnv(names: readonly string[]): string {
  const directory =
    `(?:/(?:${TOKEN}/)?` + `|[^${SEP}A-Za-z_/\\-]${TOKEN}/` + `|[A-Za-z_][A-Za-z0-9_]*(?:/(?:${TOKEN}/)?|[^${SEP}A-Za-z0-9_=/]${TOKEN}/))`;
  return `${directory}?${oneOf(names)}`;
}

/** `env [-i] [-u NAME] [NAME=value]...` up to the program it starts. */
const ENV_OPTION = `(?:-u${SEP}${TOKEN}|--unset${SEP}${TOKEN}|-${tokenExcept(['u', '-unset'])}|[A-Za-z_][A-Za-z0-9_]*=${TOKEN})`;

/** Shell options before -c: `-o value` pairs, long options, short flags without `c`. */
const SHELL_OPTION =
  `(?:[-+][oO]${SEP}${TOKEN}` + `|--[^${SEP}]+` + `|\\+(?:[A-NP-Za-np-z]|[A-Za-z]{2,})` + `|-(?:[A-NP-Zabd-np-z]|[A-Zabd-z]{2,}))`;

/** The `-c` flag (`-c`, `-lc`, `-ec`...) and the flags between it and the script. */
const COMMAND_FLAG = `-[A-Za-z]*c[A-Za-z]*(?:${SEP}[-+][A-Za-z]+)*(?:${SEP}|$)`;

/** Names that the engine strips as launchers and never treats as the shell itself. */
const LAUNCHERS = ['env', ...INIT_PROCESSES.keys()];

/** One option of an init (core/shell.ts splitInit): a word starting with `-`, other than `--` itself, with its value if it takes one. */
function initOption({ valuedShort, valuedLong }: { valuedShort: string; valuedLong: readonly string[] }): string {
  const longNames = valuedLong.map((option) => option.slice(2));
  const long = [`--${tokenExcept(['', ...longNames])}`, ...longNames.map((name) => `--${escapeRegex(name)}${SEP}${TOKEN}`)];
  if (valuedShort === '') return `(?:${[...long, `-(?:[^${SEP}\\-]${TOKEN})?`].join('|')})`;
  const valued = [...valuedShort].map(escapeClassChar).join('');
  // Letters before the first value-taking one; that one takes the rest of the word, or the next word.
  const before = `-(?:[^${SEP}\\-${valued}][^${SEP}${valued}]*)?`;
  return `(?:${[...long, before, `${before}[${valued}][^${SEP}]+`, `${before}[${valued}]${SEP}${TOKEN}`].join('|')})`;
}

/**
 * `launched(noDash)` preceded by an init and its options (through `--`, or up to a word not starting
 * with `-`), or alone: the command line as core/shell.ts splitInit reads it.
 */
function afterOptionalInit(launched: (noDash: boolean) => string): string {
  const groups = new Map<string, string[]>();
  for (const [name, options] of INIT_PROCESSES) {
    const option = initOption(options);
    groups.set(option, [...(groups.get(option) ?? []), name]);
  }
  const options = [...groups].map(([option, names]) => `${programToken(names)}${SEP}(?:${option}${SEP})*`);
  const init = `(?:${options.join('|')})`;
  return `(?:${init}--${SEP}${launched(false)}|${init}${launched(true)}|${launched(false)})`;
}

/**
 * Matches, from the start of the NUL-joined argv, everything before the script of a `shell -c`:
 * `find` returns it, and the script is the token that follows. No match: PID 1 is not a `shell -c`.
 */
export function shellPrefixPattern(shells: readonly string[]): string {
  const names = shells.filter((name) => !LAUNCHERS.includes(name));
  const launched = (noDash: boolean) =>
    `(?:${programToken(['env'], noDash)}${SEP}(?:${ENV_OPTION}${SEP})*${programAfterEnv(names)}` +
    `|${programToken(['busybox'], noDash)}${SEP}${programToken(names)}` +
    `|${programToken(names, noDash)})`;
  return `^${afterOptionalInit(launched)}${SEP}(?:${SHELL_OPTION}${SEP})*${COMMAND_FLAG}`;
}

// The script, once `\\`-newlines are joined and `;` and `&&` are turned into newlines, is a list of
// lines; blank lines and comments do not count. It hands off when its first or last counting line
// is `exec` followed by a program (a word that is not a redirection). Each line is matched on its
// own: the CEL cost of a match grows with the text times the pattern, so whole-script patterns
// would exhaust the API server's budget on scripts of a few kilobytes.
const DIGITS = '[0-9]';
const REDIRECTION_OPERATOR = `(?:${DIGITS}*(?:<|>|>>|<>|>&|<&)|&>|&>>)`;
const REDIRECTION_WITH_TARGET =
  `(?:${DIGITS}*[<>](?:[^>&${WS_CHARS}]${NON_WS}*|[>&]${NON_WS}+)` + `|&>(?:[^>${WS_CHARS}]${NON_WS}*|>${NON_WS}+))`;
const PROGRAM_WORD = `(?:${DIGITS}+(?:[^<>0-9${WS_CHARS}]${NON_WS}*)?|[^<>0-9&${WS_CHARS}]${NON_WS}*|&(?:[^>${WS_CHARS}]${NON_WS}*)?)`;

/** A line of the script that hands off: `exec`, redirections, then a program. */
export const EXEC_LINE = `^${WS}*exec(?:${WS}+(?:${REDIRECTION_OPERATOR}${WS}+${NON_WS}+|${REDIRECTION_WITH_TARGET}))*${WS}+${PROGRAM_WORD}(?:${WS}.*)?$`;
/** A line of the script that does not count: blank, or a comment. */
export const IGNORED_LINE = `^${WS}*(?:#.*)?$`;

// A lone simple command (core/shell.ts loneSimpleCommand): words of single-quoted strings,
// double-quoted strings (backslash escapes anything; no backtick, no `$(`), backslash escapes (not
// before a line break or the end) and other characters but ` \t;&|<>()\n\r`, backtick and quotes.
// `$(` fails outside quotes too: nothing matches its `(`.
const QUOTED_OR_ESCAPED = `'[^']*'|"(?:\\$*(?:[^"\\\\\`$(]|\\\\[\\s\\S])|\\()*\\$*"|\\\\[^\\n\\r]`;
/** Any other character; `#` among `others` where a word starts. */
function plainChar(others = ''): string {
  return `[^ \\t;&|<>()\\n\\r'"\\\\\`${others}]`;
}

/**
 * A script that is one simple command on one line, of one or more words. Each repetition starts a
 * word after blanks (or continues the last one): only there is `#` refused.
 */
export const LONE_COMMAND = `^(?:[ \\t]*(?:${QUOTED_OR_ESCAPED}|${plainChar('#')})(?:${QUOTED_OR_ESCAPED}|${plainChar()})*)+[ \\t]*$`;

/** A script whose first word is a shell builtin or reserved word, or an assignment: the shell stays. */
export const LONE_COMMAND_EXCLUDED_START = `^[ \\t]*(?:(?:${[...SHELL_BUILTINS].map(escapeRegex).join('|')})(?:[ \\t]|$)|[A-Za-z_][A-Za-z0-9_]*=)`;

/**
 * Matches a prefix (what shellPrefixPattern found) whose shell execs a lone command: a shell of
 * `loneShells` by basename, directly or after `env`, and `busybox <shell>` when `busybox` is listed.
 * Undefined when no shell qualifies.
 */
export function loneCommandPrefixPattern(shells: readonly string[], loneShells: readonly string[]): string | undefined {
  const names = shells.filter((name) => !LAUNCHERS.includes(name));
  const lone = names.filter((name) => loneShells.includes(name));
  const forms = (noDash: boolean) => {
    const list: string[] = [];
    if (lone.length > 0) list.push(`${programToken(['env'], noDash)}${SEP}(?:${ENV_OPTION}${SEP})*${programAfterEnv(lone)}`);
    if (loneShells.includes('busybox') && names.length > 0) list.push(`${programToken(['busybox'], noDash)}${SEP}${programToken(names)}`);
    if (lone.length > 0) list.push(programToken(lone, noDash));
    return list;
  };
  return forms(false).length === 0 ? undefined : `^${afterOptionalInit((noDash) => `(?:${forms(noDash).join('|')})`)}${SEP}`;
}

/** Longest script matched against LONE_COMMAND; see SHELL_DIFFERENCES. */
export const LONE_COMMAND_WINDOW = 16_384;

/** Longest command-line prefix (launcher, shell, options) searched for `-c`; see SHELL_DIFFERENCES. */
export const PREFIX_WINDOW = 1024;

/** A CEL string literal holding `text` (JSON's escapes are a subset of CEL's). */
export function celString(text: string): string {
  return JSON.stringify(text);
}

/** CEL: the script's lines, with line continuations joined and `;`, `&&` as line breaks. */
function scriptLines(script: string): string {
  return `${script}.replace("\\\\\\r\\n", " ").replace("\\\\\\n", " ").replace("&&", "\\n").replace(";", "\\n").split("\\n")`;
}

/**
 * CEL, true when container `c` (a regular container or native sidecar) does NOT run `shell -c` as
 * PID 1 (or under an init) without handing off to a program: the negation of the engine's
 * lingeringShell (`all` reads best stated positively).
 */
export function shellCompliantExpression(c: string, { shells, loneCommandShells }: ShellJudge): string {
  const argv = `((has(${c}.command) ? ${c}.command : []) + (has(${c}.args) ? ${c}.args : []))`;
  // Only the first PREFIX_WINDOW characters are searched for the shell and its -c; a cut line ends
  // in U+0001 so that a token cut short never looks complete.
  const window = `(line.size() > ${PREFIX_WINDOW} ? line.substring(0, ${PREFIX_WINDOW}) + "\\u0001" : line)`;
  const lonePrefix = loneCommandPrefixPattern(shells, loneCommandShells);
  // Matched last, on the whole script: its cost grows with the script, so longer scripts are taken
  // as lone commands unread (admitted, see SHELL_DIFFERENCES) rather than exhaust the budget.
  const lone =
    lonePrefix === undefined
      ? ''
      : ` || (prefix.matches(${celString(lonePrefix)}) && (script.size() > ${LONE_COMMAND_WINDOW} || ` +
        `(script.matches(${celString(LONE_COMMAND)}) && !script.matches(${celString(LONE_COMMAND_EXCLUDED_START)}))))`;
  // `[value].all(name, body)` names a value: the API server's CEL has no cel.bind.
  return (
    `[${argv}].all(argv, argv.exists(a, a.contains("\\u0000")) || ` +
    `[argv.join("\\u0000")].all(line, [${window}.find(${celString(shellPrefixPattern(shells))})].all(prefix, ` +
    `prefix == "" || [line.substring(prefix.size()).split("\\u0000")[0]].all(script, ` +
    `[${scriptLines('script')}.filter(l, !l.matches(${celString(IGNORED_LINE)}))].all(lines, ` +
    `lines.size() > 0 && (lines[0].matches(${celString(EXEC_LINE)}) || lines[lines.size() - 1].matches(${celString(EXEC_LINE)})))${lone}))))`
  );
}

/** What the CEL check cannot say as the engine does. */
export function shellDifferences({ shells, loneCommandShells }: ShellJudge): string[] {
  const differences = [
    'no-shell-entrypoint: a command or argument containing a NUL character is not examined (admitted).',
    `no-shell-entrypoint: only the first ${PREFIX_WINDOW} characters of a command line are searched for the shell and its -c (a longer launcher and option list is admitted).`,
  ];
  if (loneCommandPrefixPattern(shells, loneCommandShells) !== undefined) {
    differences.push(
      `no-shell-entrypoint: a -c script longer than ${LONE_COMMAND_WINDOW} characters under a shell of loneCommandShells is admitted without being read as a lone command (the webhook denies it unless it is one or hands off with exec).`,
    );
  }
  for (const launcher of LAUNCHERS) {
    if (shells.includes(launcher))
      differences.push(`no-shell-entrypoint: "${launcher}" in shells is ignored (a launcher or an init, never the shell itself).`);
  }
  return differences;
}
