/**
 * Exec form for a shell-form command line: the words a Dockerfile or a manifest can list directly,
 * when the script needs nothing from a shell.
 */

/** Anything a shell would interpret: expansions, quoting, operators, redirections, globs, comments. */
const NEEDS_SHELL = /[$`'"\\|&;<>(){}*?[\]~#!\n]/;

/** The script's words when it is a plain word list (`node server.js --port 80`), else undefined. */
export function plainWords(script: string): string[] | undefined {
  if (NEEDS_SHELL.test(script)) return undefined;
  const words = script
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  // `PORT=80 node server.js` sets a variable: only a shell understands that.
  if (words.length === 0 || /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? '')) return undefined;
  return words;
}

/** A JSON array the way Dockerfiles and YAML flow lists write it: `["node", "server.js"]`. */
export function execFormList(words: readonly string[]): string {
  return `[${words.map((word) => JSON.stringify(word)).join(', ')}]`;
}
