/**
 * What a Dockerfile makes PID 1: the ENTRYPOINT and CMD of its final stage as `docker build` (BuildKit)
 * stores them in the image config, with the instruction each one comes from. Parsed with dockerfile-ast;
 * only the meaning of the instructions (stages, forms, inheritance) is decided here.
 */
import { DockerfileParser, From, JSONInstruction, type Instruction } from 'dockerfile-ast';

/** The shell that shell form runs in when neither the file nor the base image sets SHELL (Linux). */
export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** Files that carry a Dockerfile's name but hold something else (BuildKit's per-Dockerfile ignore file, notes, manifests). */
const NOT_DOCKERFILE = /\.(dockerignore|md|txt|json|ya?ml|sh|ps1|orig|rej|swp|bak)$/;

/** Names users give Dockerfiles: Dockerfile, Containerfile, Dockerfile.prod, Dockerfile_windows, api.Dockerfile. */
export function isDockerfileName(name: string): boolean {
  const lower = name.toLowerCase();
  if (NOT_DOCKERFILE.test(lower)) return false;
  return /^(dockerfile|containerfile)([._-].+)?$/.test(lower) || lower.endsWith('.dockerfile') || lower.endsWith('.containerfile');
}

/** A Dockerfile docker build refuses; the message names the line. */
export class DockerfileError extends Error {
  override name = 'DockerfileError';
}

/** The image config fields that decide PID 1, as a registry returns them (null: not set). */
export interface ImageConfig {
  entrypoint?: readonly string[] | null;
  cmd?: readonly string[] | null;
}

/** An ENTRYPOINT or CMD instruction of the file. */
export interface CommandInstruction {
  keyword: 'ENTRYPOINT' | 'CMD';
  form: 'exec' | 'shell';
  /** What the image config stores: the JSON array, or for shell form the shell followed by the script. */
  argv: string[];
  /** The script of shell form, continuation lines joined as docker joins them. */
  script?: string;
  /** 1-based lines the instruction spans. */
  line: number;
  endLine: number;
  /** Name (or index) of the stage it is written in. */
  stage: string;
  /** Offsets in the text where the instruction's arguments start and end. */
  start: number;
  end: number;
  /**
   * Offset in the text of every character of `script` (shell form) or, in exec form, of the first
   * character after each element's opening quote; undefined when they cannot be located exactly.
   */
  scriptOffsets?: number[];
  elementOffsets?: number[];
}

/** Where a value of the final image comes from: an instruction of the file, or the base image outside it. */
export type Provenance =
  { from: 'instruction'; instruction: CommandInstruction } | { from: 'base-image'; image: string; line: number } | { from: 'none' };

export interface Startup {
  /** Name (or index) of the final stage. */
  stage: string;
  /** Line of the final stage's FROM. */
  line: number;
  entrypoint: Provenance;
  cmd: Provenance;
  /** The external image the final stage is built on, through its chain of stages (undefined for scratch). */
  baseImage?: { image: string; line: number };
  /** SHELL in force at the end of the final stage, when the file sets one. */
  shell?: readonly string[];
}

/** Offsets of line starts; line breaks are \n, \r\n or \r, as dockerfile-ast counts them. */
function lineOffsets(text: string): number[] {
  const offsets = [0];
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '\r' && text[index + 1] === '\n') index += 1;
    if (char === '\r' || char === '\n') offsets.push(index + 1);
  }
  return offsets;
}

/** Docker's rule: arguments that parse as a JSON array of strings are exec form, anything else is shell form. */
function parseExecForm(content: string, where: string): string[] | undefined {
  if (!content.trimStart().startsWith('[')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((item) => typeof item === 'string'))
    throw new DockerfileError(`${where}: a JSON array must hold only strings (docker build refuses it)`);
  return value;
}

interface StageState {
  name: string;
  line: number;
  entrypoint: Provenance;
  cmd: Provenance;
  shell?: readonly string[];
  baseImage?: { image: string; line: number };
}

/** Reads a file's stages in order and returns the PID 1 configuration of the final one. */
export function analyzeDockerfile(text: string): Startup {
  const dockerfile = DockerfileParser.parse(text);
  const offsets = lineOffsets(text);
  const offsetAt = (position: { line: number; character: number }) => (offsets[position.line] ?? text.length) + position.character;
  const stages: StageState[] = [];
  let current: StageState | undefined;
  // CMD written in the current stage survives a later ENTRYPOINT; one inherited from the base does not.
  let cmdSet = false;

  const commandInstruction = (
    instruction: Instruction,
    keyword: 'ENTRYPOINT' | 'CMD',
    stage: StageState,
  ): CommandInstruction | undefined => {
    const content = instruction.getArgumentsContent();
    const range = instruction.getRange();
    const argumentsRange = instruction.getArgumentsRange();
    if (content === null || argumentsRange === null) return undefined; // `CMD` alone: docker build refuses it, nothing runs
    const where = `line ${range.start.line + 1}: ${keyword}`;
    const base = {
      keyword,
      line: range.start.line + 1,
      endLine: range.end.line + 1,
      stage: stage.name,
      start: offsetAt(argumentsRange.start),
      end: offsetAt(argumentsRange.end),
    };
    const exec = parseExecForm(content, where);
    if (exec !== undefined) {
      // dockerfile-ast locates each element; its decoded values are not JSON's, so only its positions are used.
      const strings = instruction instanceof JSONInstruction ? instruction.getJSONStrings() : [];
      const elementOffsets = strings.length === exec.length ? strings.map((string) => offsetAt(string.getRange().start) + 1) : undefined;
      return { ...base, form: 'exec', argv: exec, ...(elementOffsets ? { elementOffsets } : {}) };
    }
    // The script's characters, in order, sit in the argument ranges of each line (continuations dropped).
    const scriptOffsets = instruction.getArgumentsRanges().flatMap((part) => {
      const from = offsetAt(part.start);
      return Array.from({ length: offsetAt(part.end) - from }, (_, index) => from + index);
    });
    const located = scriptOffsets.length === content.length && scriptOffsets.every((offset, index) => text[offset] === content[index]);
    return {
      ...base,
      form: 'shell',
      argv: [...(stage.shell ?? DEFAULT_SHELL), content],
      script: content,
      ...(located ? { scriptOffsets } : {}),
    };
  };

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line + 1;
    if (keyword === 'FROM' && instruction instanceof From) {
      // Expanded with the ARGs declared before the first FROM (`FROM ${BASE}`), as docker build does.
      const image =
        instruction
          .getExpandedArguments()
          .find((argument) => !argument.getValue().startsWith('--'))
          ?.getValue() ?? '';
      const parent = stages.findLast((stage) => stage.name.toLowerCase() === image.toLowerCase());
      const name = instruction.getBuildStage() ?? `stage-${stages.length}`;
      if (parent !== undefined) {
        current = { ...parent, name, line };
      } else if (image.toLowerCase() === 'scratch') {
        current = { name, line, entrypoint: { from: 'none' }, cmd: { from: 'none' } };
      } else {
        const baseImage = { image, line };
        current = { name, line, entrypoint: { from: 'base-image', ...baseImage }, cmd: { from: 'base-image', ...baseImage }, baseImage };
      }
      stages.push(current);
      cmdSet = false;
      continue;
    }
    if (current === undefined) continue; // ARG before the first FROM
    if (keyword === 'SHELL') {
      const shell = parseExecForm(instruction.getArgumentsContent() ?? '', `line ${line}: SHELL`);
      if (shell === undefined || shell.length === 0)
        throw new DockerfileError(`line ${line}: SHELL needs a JSON array such as ["/bin/bash", "-c"]`);
      current.shell = shell;
    } else if (keyword === 'ENTRYPOINT' || keyword === 'CMD') {
      const parsed = commandInstruction(instruction, keyword, current);
      if (parsed === undefined) continue;
      if (keyword === 'ENTRYPOINT') {
        current.entrypoint = { from: 'instruction', instruction: parsed };
        if (!cmdSet) current.cmd = { from: 'none' };
      } else {
        current.cmd = { from: 'instruction', instruction: parsed };
        cmdSet = true;
      }
    }
  }
  const final = stages[stages.length - 1];
  if (final === undefined) throw new DockerfileError('no FROM instruction: not a Dockerfile');
  return {
    stage: final.name,
    line: final.line,
    entrypoint: final.entrypoint,
    cmd: final.cmd,
    ...(final.baseImage ? { baseImage: final.baseImage } : {}),
    ...(final.shell ? { shell: final.shell } : {}),
  };
}
