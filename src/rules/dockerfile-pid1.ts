/**
 * no-shell-entrypoint for Dockerfiles: judges the PID 1 of the final stage with the same shell
 * analysis as for manifests, and plans the smallest rewrite that hands PID 1 to the program.
 * Pure: takes the file's text (and, when someone inspected it, the base image's config).
 */
import { analyzeDockerfile, type CommandInstruction, type ImageConfig, type Provenance, type Startup } from '../core/dockerfile.js';
import { findShellInvocation, lingeringShell, type ShellInvocation, type ShellJudge } from '../core/shell.js';
import { shellEffect } from './no-shell-entrypoint.js';

const DOCKERFILE_FIX =
  'Write ENTRYPOINT or CMD in exec form (CMD ["/app/server", "--flag"]), or make the shell hand PID 1 to the program ' +
  'with exec (CMD cd /app && exec /app/server); move pipelines and setup into an entrypoint script that ends with exec "$@"';

export interface DockerfileFinding {
  /** Line of the instruction responsible (the FROM line when the shell comes from the base image). */
  line: number;
  /** The final stage, by name or index. */
  stage: string;
  message: string;
  fix: string;
  /** How `fix` would rewrite it, when it can. */
  rewrite?: Rewrite;
}

export interface DockerfileCheck {
  finding?: DockerfileFinding;
  /**
   * Set when PID 1 depends on a base image from outside the file that was not inspected: what is
   * unknown, for a note (and for whoever hooks image inspection in: analyze again with its config).
   */
  uninspected?: { image: string; line: number; reason: string };
}

/** Which argv the final image runs, as far as the file (and an inspected base image) tell. */
function partOf(provenance: Provenance, image: ImageConfig | undefined, field: 'entrypoint' | 'cmd'): readonly string[] | undefined {
  if (provenance.from === 'instruction') return provenance.instruction.argv;
  if (provenance.from === 'none') return [];
  return image === undefined ? undefined : (image[field] ?? []);
}

/**
 * The external base image a Dockerfile's final stage takes its ENTRYPOINT (or CMD) from: the hook
 * for image inspection. Inspect it, then call `checkDockerfile(text, shellJudge, config)` again.
 */
export function baseImageToInspect(text: string): DockerfileCheck['uninspected'] {
  return uninspectedBase(analyzeDockerfile(text));
}

function uninspectedBase(startup: Startup): DockerfileCheck['uninspected'] {
  const { entrypoint, cmd, baseImage } = startup;
  if (baseImage === undefined || entrypoint.from !== 'base-image') return undefined;
  const what = cmd.from === 'base-image' ? 'its ENTRYPOINT and CMD' : 'its ENTRYPOINT';
  return {
    ...baseImage,
    reason: `the final stage (${startup.stage}) inherits ${what} from external image ${baseImage.image}, which was not inspected`,
  };
}

interface Judgement {
  shell: ShellInvocation;
  /** Which of the two holds the script. */
  part: 'ENTRYPOINT' | 'CMD';
  /** The instruction that holds the script; undefined when it comes from the base image. */
  blame?: CommandInstruction;
}

function judge(startup: Startup, shellJudge: ShellJudge, image?: ImageConfig): Judgement | undefined {
  const entrypoint = partOf(startup.entrypoint, image, 'entrypoint');
  const cmd = partOf(startup.cmd, image, 'cmd');
  if (cmd === undefined) return undefined;
  // An uninspected ENTRYPOINT is taken to be none or one that runs its arguments, as entrypoint scripts do.
  const shell = lingeringShell([...(entrypoint ?? []), ...cmd], shellJudge);
  if (shell === undefined) return undefined;
  const instructionOf = (provenance: Provenance) => (provenance.from === 'instruction' ? provenance.instruction : undefined);
  // The script is in the ENTRYPOINT when that alone holds one; otherwise CMD supplies it.
  const inEntrypoint = (findShellInvocation(entrypoint ?? [], shellJudge.shells)?.script ?? '') !== '';
  const blame = inEntrypoint ? instructionOf(startup.entrypoint) : instructionOf(startup.cmd);
  return { shell, part: inEntrypoint ? 'ENTRYPOINT' : 'CMD', ...(blame === undefined ? {} : { blame }) };
}

/** Checks the final stage of a Dockerfile; `image` is the base image's config when it was inspected. */
export function checkDockerfile(text: string, shellJudge: ShellJudge, image?: ImageConfig): DockerfileCheck {
  const startup = analyzeDockerfile(text);
  const uninspected = image === undefined ? uninspectedBase(startup) : undefined;
  const judgement = judge(startup, shellJudge, image);
  if (judgement === undefined) return uninspected && startup.cmd.from === 'base-image' ? { uninspected } : {};
  const { shell, part, blame } = judgement;
  const source =
    blame === undefined
      ? `the ${part} of base image ${startup.baseImage?.image ?? ''}`
      : `${blame.keyword}${blame.form === 'shell' ? ' in shell form' : ''}`;
  const { where, consequence } = shellEffect(shell);
  const notes = [
    blame !== undefined && blame.stage !== startup.stage ? `written in stage ${blame.stage}, which the final stage builds on` : '',
    blame?.form === 'shell' && blame.script?.trimStart().startsWith('[')
      ? 'its arguments are not a JSON array of double-quoted strings, so docker runs them with a shell'
      : '',
    uninspected === undefined
      ? ''
      : `assuming base image ${uninspected.image} has no ENTRYPOINT or one that runs its arguments: it was not inspected`,
  ].filter((note) => note !== '');
  const plan =
    blame === undefined
      ? { reason: 'it comes from the base image: set ENTRYPOINT or CMD in exec form in this file' }
      : planRewrite(text, startup, blame, shell.script, shellJudge, image);
  const rewrite = 'reason' in plan ? undefined : plan;
  return {
    finding: {
      line: blame?.line ?? startup.baseImage?.line ?? startup.line,
      stage: startup.stage,
      message: `${source} runs \`${shell.shell} ${shell.flag}\` ${where}: ${consequence}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
      fix:
        'reason' in plan
          ? `${DOCKERFILE_FIX} (\`lifecycle-guard fix\` cannot rewrite it: ${plan.reason})`
          : `${plan.description}: ${plan.instruction} (\`lifecycle-guard fix\` rewrites it)`,
      ...(rewrite === undefined ? {} : { rewrite }),
    },
    ...(uninspected ? { uninspected } : {}),
  };
}

// ---- Rewrites ------------------------------------------------------------------------------------

export interface Rewrite {
  kind: 'exec-form' | 'exec-prefix';
  /** What to tell the user, e.g. `Write CMD in exec form`. */
  description: string;
  /** The instruction as it reads after the rewrite (continuation lines joined). */
  instruction: string;
  line: number;
  /** The edit of the text: replace `length` characters at `offset` by `text`. */
  offset: number;
  length: number;
  text: string;
}

/** Words that only a shell understands as the first word of a command. */
const SHELL_ONLY = new Set(
  '. : [[ ! { } alias break case cd continue do done elif else esac eval exit export fi for function if readonly return select set shift source then trap ulimit umask unset until wait while'.split(
    ' ',
  ),
);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** A word with nothing a shell would expand or interpret: safe characters, '...' and "..." without $ ` \. */
const PLAIN_WORD = /\s*((?:[A-Za-z0-9_@%+=:,./-]+|'[^']*'|"[^"$`\\]*")+)/y;

/** The words of a script that is a plain command line, unquoted; undefined when it needs a shell. */
export function plainWords(script: string): string[] | undefined {
  const words: string[] = [];
  PLAIN_WORD.lastIndex = 0;
  let end = 0;
  let match: RegExpExecArray | null;
  while ((match = PLAIN_WORD.exec(script)) !== null) {
    end = PLAIN_WORD.lastIndex;
    words.push(
      (match[1] ?? '').replace(
        /'([^']*)'|"([^"]*)"/g,
        (_, single: string | undefined, double: string | undefined) => single ?? double ?? '',
      ),
    );
  }
  // The pattern stops at the first character it refuses ($, `, \\, ;, |, &, <, >, *, #...): then a shell is needed.
  const rest = script.slice(end);
  const first = words[0];
  if (first === undefined || rest.trim() !== '' || ASSIGNMENT.test(first) || SHELL_ONLY.has(first)) return undefined;
  return words;
}

/**
 * Where to insert what so that a script hands PID 1 over: `exec ` before its last command when that is a
 * simple one, or `exec env ` before its `VAR=value` prefixes. A reason instead when it is not simple.
 */
export function execInsertion(script: string): { index: number; text: string } | { reason: string } {
  let quote: string | undefined;
  let lastStart = 0;
  for (let index = 0; index < script.length; index += 1) {
    const char = script[index];
    if (quote !== undefined) {
      if (char === '\\' && quote === '"') index += 1;
      else if (char === quote) quote = undefined;
    } else if (char === '\\') index += 1;
    else if (char === "'" || char === '"') quote = char;
    else if (char === ';' || char === '\n') lastStart = index + 1;
    else if (char === '&' && script[index + 1] === '&') lastStart = (index += 1) + 1;
  }
  const last = script.slice(lastStart);
  if (/[|&()`]|<</.test(last.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '')))
    return { reason: 'its last command is a pipeline, a background job or a subshell' };
  const index = lastStart + (last.length - last.trimStart().length);
  const words = last.trim().split(/\s+/);
  const command = words.find((word) => !ASSIGNMENT.test(word));
  if (command === undefined || command === '') return { reason: 'it has no command to hand over to' };
  if (SHELL_ONLY.has(command)) return { reason: `its last command starts with the shell word \`${command}\`` };
  // `VAR=1 exec app` works in every shell, but `exec env VAR=1 app` says plainly what runs.
  return { index, text: ASSIGNMENT.test(words[0] ?? '') ? 'exec env ' : 'exec ' };
}

/** Offset in the text of the character at `index` of the blamed instruction's script; undefined if unknown. */
function scriptOffset(text: string, blame: CommandInstruction, script: string, index: number): number | undefined {
  if (blame.form === 'shell') return index === script.length ? blame.end : blame.scriptOffsets?.[index];
  const element = blame.argv.lastIndexOf(script);
  const start = blame.elementOffsets?.[element];
  if (start === undefined) return undefined;
  const encoded = JSON.stringify(script.slice(0, index)).slice(1, -1);
  return text.startsWith(encoded, start) ? start + encoded.length : undefined;
}

/** `['node', 'server.js']`: meant as exec form, but not JSON, so docker ran it in a shell. */
function singleQuotedArray(script: string): string[] | undefined {
  if (!script.trimStart().startsWith('[') || /["\\]/.test(script)) return undefined;
  try {
    const value: unknown = JSON.parse(script.replace(/'/g, '"'));
    return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

function planRewrite(
  text: string,
  startup: Startup,
  blame: CommandInstruction,
  script: string,
  shellJudge: ShellJudge,
  image?: ImageConfig,
): Rewrite | { reason: string } {
  const candidates: Rewrite[] = [];
  const words = blame.form === 'shell' ? (singleQuotedArray(script) ?? plainWords(script)) : undefined;
  const raw = text.slice(blame.start, blame.end);
  // An ENTRYPOINT turned into exec form would start taking CMD as arguments; comments inside the instruction would be lost.
  const cmdFollows = blame.keyword === 'ENTRYPOINT' && (partOf(startup.cmd, image, 'cmd') ?? ['?']).length > 0;
  if (words !== undefined && !cmdFollows && !/[\r\n]\s*#/.test(raw)) {
    const replacement = `[${words.map((word) => JSON.stringify(word)).join(', ')}]`;
    candidates.push({
      kind: 'exec-form',
      description: `Write ${blame.keyword} in exec form`,
      instruction: `${blame.keyword} ${replacement}`,
      line: blame.line,
      offset: blame.start,
      length: blame.end - blame.start,
      text: replacement,
    });
  }
  // `exec` before a broken JSON array would run a program called `[`: only valid JSON fixes that.
  const insertion =
    blame.form === 'shell' && script.trimStart().startsWith('[')
      ? { reason: 'it looks like exec form but is not valid JSON (check quotes and commas)' }
      : execInsertion(script);
  if ('reason' in insertion && candidates.length === 0) return insertion;
  const offset = 'index' in insertion ? scriptOffset(text, blame, script, insertion.index) : undefined;
  if ('index' in insertion && offset !== undefined) {
    const rewritten = `${script.slice(0, insertion.index)}${insertion.text}${script.slice(insertion.index)}`;
    const argumentsText =
      blame.form === 'shell' ? rewritten : `[${blame.argv.map((arg) => JSON.stringify(arg === script ? rewritten : arg)).join(', ')}]`;
    candidates.push({
      kind: 'exec-prefix',
      description: `Keep the shell but let it hand PID 1 to the program with \`exec\``,
      instruction: `${blame.keyword} ${argumentsText.replace(/\s+/g, ' ').trim()}`,
      line: blame.line,
      offset,
      length: 0,
      text: insertion.text,
    });
  }
  // A rewrite is offered only when the rewritten file checks clean: the planner may not be smarter than the checker.
  const clean = candidates.find((candidate) => judge(analyzeDockerfile(applyRewrite(text, candidate)), shellJudge, image) === undefined);
  return clean ?? { reason: 'no rewrite of it that hands PID 1 over could be verified' };
}

/** Applies a finding's rewrite to the text. */
export function applyRewrite(text: string, rewrite: Rewrite): string {
  return `${text.slice(0, rewrite.offset)}${rewrite.text}${text.slice(rewrite.offset + rewrite.length)}`;
}
