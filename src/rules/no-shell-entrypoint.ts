import { z } from 'zod';
import { durationSchema } from '../core/duration.js';
import { execFormList, plainWords } from '../core/exec-form.js';
import type { ImageInspection, ImagePlatformConfig } from '../core/images.js';
import {
  DEFAULT_LONE_COMMAND_SHELLS,
  DEFAULT_SHELLS,
  findShellInvocation,
  lingeringShell,
  type ShellInvocation,
  type ShellJudge,
} from '../core/shell.js';
import type { RuleFinding } from '../core/types.js';
import type { ContainerView } from '../core/workload.js';
import type { ValidatingRule } from './rule.js';

const shellName = z.string().regex(/^[^/\s]+$/, 'a bare program name such as "sh"');

const HOST = z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$/, 'a registry host such as registry.example.com:5000');

/** How the edge (webhook, scan, `check --inspect-images`) reads image configs; the rule itself only gets the results. */
const imagesParams = z
  .object({
    /** Read Entrypoint and Cmd of images whose containers set no `command` (serve and audit; `check` only with --inspect-images). */
    inspect: z.boolean().default(true),
    /** Time budget of one admission request's lookups: past it, the request is answered without the image check. */
    timeout: durationSchema('2s', "a duration from 100ms to 25s, such as 2s (well inside the webhook's timeoutSeconds)", {
      min: 100,
      max: 25_000,
    }),
    /** How long a tag's digest is trusted; manifests and configs are cached by digest for good. */
    cacheTTL: durationSchema('5m', 'a duration such as 30s or 5m (0: tags are looked up every time)', { min: 1000 }),
    /** `os/arch[/variant]` to check in multi-platform images; empty: every linux platform. */
    platforms: z
      .array(z.string().regex(/^linux\/[a-z0-9]+(\/[a-z0-9]+)?$/, 'a platform such as linux/amd64 or linux/arm64/v8'))
      .default([]),
    registries: z
      .object({
        /** Mirrors tried in order before the registry itself, by registry host (`docker.io` for Docker Hub). */
        mirrors: z.record(HOST, z.array(HOST).min(1)).default({}),
        /** Registries reached over plain HTTP. */
        insecure: z.array(HOST).default([]),
        /** A docker config file (`auths`) with per-registry credentials, e.g. a mounted Secret. */
        credentials: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** A kubectl warning for each image that could not be inspected (its reason is always logged and audited). */
    warnUninspected: z.boolean().default(false),
    /** Use the Pod's and its ServiceAccount's imagePullSecrets (needs `get` on Secrets: manifests/components/image-pull-secrets). */
    pullSecrets: z.boolean().default(false),
  })
  .strict()
  .prefault({});

const params = z
  .object({
    /** Programs treated as shells, by bare name (any path matches). */
    shells: z
      .array(shellName)
      .min(1)
      .default([...DEFAULT_SHELLS])
      .describe('Programs treated as shells, by bare name; any path matches (/bin/sh, /usr/bin/bash).'),
    /**
     * Shells that replace themselves with a lone simple command (`bash -c "app --flag"`), so the app is
     * PID 1 after all; measured, see the rule reference. `[]` is strict: every `-c` without `exec` is flagged.
     */
    loneCommandShells: z
      .array(shellName)
      .default([...DEFAULT_LONE_COMMAND_SHELLS])
      .describe(
        'Shells measured to replace themselves with a lone simple command, which then passes (`busybox` stands for `busybox sh`). `[]` is strict: every `-c` script without `exec` is flagged.',
      ),
    /** Also check Jobs, CronJobs and Pods with restartPolicy Never/OnFailure. */
    includeRunToCompletion: z
      .boolean()
      .default(false)
      .describe('Also check Jobs, CronJobs and Pods with restartPolicy Never or OnFailure.'),
    images: imagesParams,
  })
  .strict();

export type ImageInspectionParams = z.infer<typeof imagesParams>;

/** A command or args list; entries that are not strings (the API server would refuse them) count as empty. */
function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item : '')) : undefined;
}

/** Where the shell runs (`as PID 1`, `under tini`) and what that does to the app, for a finding's message. */
export function shellEffect(shell: ShellInvocation): { where: string; consequence: string } {
  const init = shell.init?.[0];
  if (init === undefined) {
    return { where: 'as PID 1', consequence: 'the shell swallows SIGTERM and the app is SIGKILLed after the grace period' };
  }
  const name = init.slice(init.lastIndexOf('/') + 1);
  return {
    where: `under ${name}`,
    consequence: `the shell dies of the SIGTERM ${name} forwards, ${name} exits with it, and the app is SIGKILLed before it can shut down`,
  };
}

/** How to run the script's program directly, as a sentence fragment for a fix; an init the shell ran under stays in front. */
function execFormAdvice(shell: ShellInvocation, write: (list: string) => string, keepInit: boolean): string {
  const words = plainWords(shell.script);
  return words === undefined
    ? `the script needs a shell: make its last command \`exec <program>\` so the program replaces the shell`
    : write(execFormList([...(keepInit ? (shell.init ?? []) : []), ...words]));
}

/** A shell the manifest itself starts: the rule's general fix applies. */
function manifestFinding(container: ContainerView, shell: ShellInvocation): RuleFinding {
  const { where, consequence } = shellEffect(shell);
  return { container: container.name, message: `runs \`${shell.shell} ${shell.flag}\` ${where}: ${consequence}` };
}

/** The Dockerfile instruction an Entrypoint or Cmd list comes from: shell form is stored as `[shell, "-c", script]`. */
function dockerfileInstruction(keyword: 'ENTRYPOINT' | 'CMD', list: readonly string[], shells: readonly string[]): string {
  const shellForm = list.length === 3 && list[1] === '-c' && findShellInvocation(list, shells) !== undefined;
  return shellForm ? `\`${keyword} ${list[2] ?? ''}\` (shell form)` : `\`${keyword} ${execFormList(list)}\``;
}

function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex === undefined ? digest : `${algorithm}:${hex.slice(0, 12)}`;
}

interface ImageVerdict {
  shell: ShellInvocation;
  /** The Dockerfile instruction(s) PID 1 comes from. */
  instruction: string;
  /** The instruction to write instead, and which one it replaces. */
  keyword: 'ENTRYPOINT' | 'CMD';
  replaces: string;
  /** The manifest field that overrides it: `args` keeps the image's Entrypoint (an init, for one). */
  override: 'command' | 'args';
}

/**
 * The shell an image leaves between SIGTERM and the app on one platform (the manifest's `args`, if
 * set, replace the image's Cmd); `manifest` when the shell is the manifest's own, in `args`.
 */
function imageVerdict(
  config: ImagePlatformConfig,
  args: readonly string[],
  judge: ShellJudge,
): ImageVerdict | { manifest: ShellInvocation } | undefined {
  const { shells } = judge;
  const cmd = args.length > 0 ? args : config.cmd;
  const shell = lingeringShell([...config.entrypoint, ...cmd], judge);
  if (shell === undefined) return undefined;
  const cmdInstruction = dockerfileInstruction('CMD', cmd, shells);
  if (config.entrypoint.length === 0)
    return args.length > 0
      ? { manifest: shell }
      : { shell, instruction: cmdInstruction, keyword: 'CMD', replaces: cmdInstruction, override: 'command' };
  const entrypoint = dockerfileInstruction('ENTRYPOINT', config.entrypoint, shells);
  const entrypointShell = findShellInvocation(config.entrypoint, shells);
  // An Entrypoint without a shell of its own (`["tini", "--"]`, `["env", "A=1"]`) runs the shell that Cmd, or the manifest's args, start.
  if (entrypointShell === undefined) {
    if (args.length > 0) return { manifest: shell };
    return { shell, instruction: `${entrypoint} + ${cmdInstruction}`, keyword: 'CMD', replaces: cmdInstruction, override: 'args' };
  }
  // `ENTRYPOINT ["sh", "-c"]` takes its script from Cmd (or from the manifest's args).
  const fromCmd = entrypointShell.script === '';
  const instruction = !fromCmd
    ? entrypoint
    : args.length > 0
      ? `${entrypoint} with the manifest's args`
      : `${entrypoint} + ${dockerfileInstruction('CMD', cmd, [])}`;
  return { shell, instruction, keyword: 'ENTRYPOINT', replaces: instruction, override: 'command' };
}

function imageFindings(
  container: ContainerView,
  inspection: Extract<ImageInspection, { status: 'inspected' }>,
  args: readonly string[],
  judge: ShellJudge,
): RuleFinding[] {
  // Platforms with the same verdict make one finding, naming them all.
  const groups = new Map<string, { verdict: ImageVerdict | { manifest: ShellInvocation }; platforms: string[] }>();
  for (const config of inspection.platforms) {
    const verdict = imageVerdict(config, args, judge);
    if (verdict === undefined) continue;
    const key = 'manifest' in verdict ? 'manifest' : `${verdict.shell.shell}\u0000${verdict.shell.flag}\u0000${verdict.instruction}`;
    const group = groups.get(key) ?? { verdict, platforms: [] };
    group.platforms.push(config.platform);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ verdict, platforms }) => {
    if ('manifest' in verdict) return manifestFinding(container, verdict.manifest);
    const { shell, instruction, keyword, replaces, override } = verdict;
    const { where, consequence } = shellEffect(shell);
    const image = `${inspection.reference} (${shortDigest(inspection.digest)}, ${platforms.join(', ')})`;
    // A new CMD (or args) still runs under the Entrypoint's init; a new ENTRYPOINT (or command) must name the init itself.
    const dockerfile = execFormAdvice(
      shell,
      (list) => `write \`${keyword} ${list}\` (exec form) instead of ${replaces}`,
      keyword === 'ENTRYPOINT',
    );
    const manifest = execFormAdvice(
      shell,
      (list) => `set \`${override}: ${list}\` on container "${container.name}"`,
      keyword === 'ENTRYPOINT',
    );
    return {
      container: container.name,
      message: `runs \`${shell.shell} ${shell.flag}\` ${where} from image ${image}, Dockerfile ${instruction}: ${consequence}`,
      fix: `In the Dockerfile of ${inspection.reference}, ${dockerfile}, and rebuild the image; or, in the manifest, ${manifest}.`,
    };
  });
}

export const noShellEntrypoint: ValidatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'no-shell-entrypoint',
    type: 'validating',
    title: 'No shell as PID 1',
    summary:
      'a long-running container (regular or native sidecar) must not run `sh -c` (bash, ash, dash, zsh, ksh; any path; via `env` or `busybox`; ' +
      '`-c`, `-lc`, `-ec`…) as PID 1, nor as the child of an init (tini, dumb-init, catatonit, docker-init, with any of their options), ' +
      'unless the script hands off with `exec program` or is one simple command under a shell that execs it; ' +
      "without `command`, the image's ENTRYPOINT/CMD decide (docs/images.md; an entrypoint script's content is not inspected)",
    why:
      'A shell running as PID 1 receives SIGTERM but does not pass it on to the app, ' +
      'so the app cannot shut down cleanly and is SIGKILLed when the grace period ends. ' +
      'Under an init (tini, dumb-init), the shell is not PID 1 and dies of the SIGTERM the init forwards; the init exits with it, ' +
      'and the app is SIGKILLed at once, also when the init signals the whole process group (`tini -g`): see the measurement below.',
    fix:
      'Run the program in exec form (command: ["/app/server", "--flag"]), use an exec-form ENTRYPOINT ' +
      '(ENTRYPOINT ["/app/server"]) in the Dockerfile, or start the script with `exec` (sh -c "exec /app/server").',
    defaultMode: 'enforce',
    scope: {
      workloads: 'long-running',
      containers: ['sidecar', 'container'],
      reason:
        'The harm, a SIGKILL at the end of the grace period, hits what runs until it is told to stop. A Job ' +
        '(such as the Kubernetes docs\' CronJob `sh -c "date; echo Hello"`) ends by itself; ' +
        '`includeRunToCompletion: true` checks it too. Run-to-completion init containers finish before the app starts.',
    },
    limits: [
      'Without `command`, PID 1 comes from the image: it is seen only where the image was inspected (the webhook and `audit` by default, `check --inspect-images`); an entrypoint script is a program, and its content is not read.',
      'A script that hands off with `exec` anywhere but its first or last command (inside `if`, a function) is still flagged.',
      'A lone command counts only on one line: a YAML `|` block adds a line break, after which mksh and busybox stay PID 1.',
      'Inits are known by name (tini, tini-static, docker-init, dumb-init, catatonit) and their options are read as getopt would, but for abbreviated long options (`dumb-init --rew`); tini and catatonit also need `--` before a command that has options of its own, or refuse to start it, which the rule does not check.',
    ],
    evidence: [
      {
        title: 'Which shells exec a lone command',
        text:
          'scripts/measure-shells.sh runs each script with `<shell> -c` as PID 1 of a new PID namespace and reads which program is PID 1 ' +
          'a moment later: `exec` means the shell replaced itself with the program, `stays` means the shell is still PID 1. ' +
          'The rule passes a lone command (one line, no assignment, redirection, list, pipe or subshell) only under shells where such ' +
          'a command says `exec`; dash (`sh` on Debian and Ubuntu) never does, and ksh93 runs its builtin `sleep` itself, so builtins never count.',
        file: 'shell-measurement.tsv',
        script: 'scripts/measure-shells.sh',
      },
      {
        title: 'What an init does for a shell',
        text:
          'scripts/measure-inits.sh runs each command line as PID 1 of a new PID namespace (under the init, or with the shell itself as PID 1), ' +
          'sends PID 1 SIGTERM, and reads what the app, a program that needs 0.5 s to shut down after SIGTERM, saw: `clean` (it got SIGTERM ' +
          'and finished), `cut` (it got SIGTERM and was killed while shutting down), `killed` (it never saw SIGTERM), `ignored` (nothing ' +
          'happened for 2 s: the runtime SIGKILLs it all at the end of the grace period), over five runs each. A shell that stays the ' +
          "app's parent never lets it finish, under any init or option: the rule flags it there as it does as PID 1; `exec` and a lone " +
          'command under bash are clean everywhere.',
        file: 'init-measurement.tsv',
        script: 'scripts/measure-inits.sh',
      },
    ],
  },
  params,
  check({ containers, params: { shells, loneCommandShells }, images }) {
    const findings: RuleFinding[] = [];
    const judge: ShellJudge = { shells, loneCommandShells };
    for (const container of containers) {
      const command = stringList(container.spec.command) ?? [];
      const args = stringList(container.spec.args) ?? [];
      // As the kubelet: `command` replaces the image's Entrypoint and Cmd; `args` alone replace only Cmd.
      const inspection = command.length === 0 && typeof container.spec.image === 'string' ? images.get(container.spec.image) : undefined;
      if (inspection?.status === 'inspected') {
        findings.push(...imageFindings(container, inspection, args, judge));
        continue;
      }
      // Image unknown: judge what the manifest says (without `command`, a shell in `args` is still the likely PID 1).
      const shell = lingeringShell([...command, ...args], judge);
      if (shell !== undefined) findings.push(manifestFinding(container, shell));
    }
    return findings;
  },
};
