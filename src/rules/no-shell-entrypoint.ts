import { z } from 'zod';
import { DEFAULT_LONE_COMMAND_SHELLS, DEFAULT_SHELLS, findShellInvocation, scriptHandsOffWithExec, shellExecsLoneCommand } from '../core/shell.js';
import type { RuleFinding } from '../core/types.js';
import type { ValidatingRule } from './rule.js';

const shellName = z.string().regex(/^[^/\s]+$/, 'a bare program name such as "sh"');

const params = z
  .object({
    /** Programs treated as shells, by bare name (any path matches). */
    shells: z.array(shellName).min(1).default([...DEFAULT_SHELLS]).describe('Programs treated as shells, by bare name; any path matches (/bin/sh, /usr/bin/bash).'),
    /**
     * Shells that replace themselves with a lone simple command (`bash -c "app --flag"`), so the app is
     * PID 1 after all; measured, see the rule reference. `[]` is strict: every `-c` without `exec` is flagged.
     */
    loneCommandShells: z
      .array(shellName)
      .default([...DEFAULT_LONE_COMMAND_SHELLS])
      .describe('Shells measured to replace themselves with a lone simple command, which then passes (`busybox` stands for `busybox sh`). `[]` is strict: every `-c` script without `exec` is flagged.'),
    /** Also check Jobs, CronJobs and Pods with restartPolicy Never/OnFailure. */
    includeRunToCompletion: z.boolean().default(false).describe('Also check Jobs, CronJobs and Pods with restartPolicy Never or OnFailure.'),
  })
  .strict();

/** A command or args list; entries that are not strings (the API server would refuse them) count as empty. */
function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.map((item) => (typeof item === 'string' ? item : '')) : undefined;
}

export const noShellEntrypoint: ValidatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'no-shell-entrypoint',
    type: 'validating',
    title: 'No shell as PID 1',
    summary:
      'a long-running container (regular or native sidecar) must not run `sh -c` (bash, ash, dash, zsh, ksh; any path; via `env` or `busybox`; ' +
      '`-c`, `-lc`, `-ec`…) as PID 1, unless the script hands off with `exec program` or is one simple command under a shell that execs it',
    why:
      'A shell running as PID 1 receives SIGTERM but does not pass it on to the app, ' +
      'so the app cannot shut down cleanly and is SIGKILLed when the grace period ends.',
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
      'Only `command` and `args` are read: a shell in the image\'s ENTRYPOINT or CMD is not seen when the manifest sets neither.',
      'A script that hands off with `exec` anywhere but its first or last command (inside `if`, a function) is still flagged.',
      'A lone command counts only on one line: a YAML `|` block adds a line break, after which mksh and busybox stay PID 1.',
    ],
    evidence: {
      title: 'Which shells exec a lone command',
      text:
        'scripts/measure-shells.sh runs each script with `<shell> -c` as PID 1 of a new PID namespace and reads which program is PID 1 ' +
        'a moment later: `exec` means the shell replaced itself with the program, `stays` means the shell is still PID 1. ' +
        'The rule passes a lone command (one line, no assignment, redirection, list, pipe or subshell) only under shells where such ' +
        'a command says `exec`; dash (`sh` on Debian and Ubuntu) never does, and ksh93 runs its builtin `sleep` itself, so builtins never count.',
      file: 'shell-measurement.tsv',
    },
  },
  params,
  check({ containers, params: { shells, loneCommandShells } }) {
    const findings: RuleFinding[] = [];
    for (const container of containers) {
      const command = stringList(container.spec.command);
      const args = stringList(container.spec.args) ?? [];
      // Without `command` the image's ENTRYPOINT runs `args`; a shell in args is still the judge.
      const argv = command === undefined ? args : [...command, ...args];
      const shell = findShellInvocation(argv, shells);
      if (shell === undefined || scriptHandsOffWithExec(shell.script) || shellExecsLoneCommand(shell, loneCommandShells)) continue;
      findings.push({
        container: container.name,
        message: `runs \`${shell.shell} ${shell.flag}\` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period`,
      });
    }
    return findings;
  },
};
