import { z } from 'zod';
import { DEFAULT_SHELLS, findShellInvocation, scriptHandsOffWithExec } from '../core/shell.js';
import type { RuleFinding } from '../core/types.js';
import { longRunningContainers } from '../core/workload.js';
import type { ValidatingRule } from './rule.js';

const params = z
  .object({
    /** Programs treated as shells, by bare name (any path matches). */
    shells: z
      .array(z.string().regex(/^[^/\s]+$/, 'a bare program name such as "sh"'))
      .min(1)
      .default([...DEFAULT_SHELLS]),
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
    why:
      'A shell running as PID 1 receives SIGTERM but does not pass it on to the app, ' +
      'so the app cannot shut down cleanly and is SIGKILLed when the grace period ends.',
    fix:
      'Run the program in exec form (command: ["/app/server", "--flag"]), use an exec-form ENTRYPOINT ' +
      '(ENTRYPOINT ["/app/server"]) in the Dockerfile, or start the script with `exec` (sh -c "exec /app/server").',
    defaultMode: 'enforce',
  },
  params,
  check({ workload, params: { shells } }) {
    const findings: RuleFinding[] = [];
    for (const container of longRunningContainers(workload)) {
      const command = stringList(container.spec.command);
      const args = stringList(container.spec.args) ?? [];
      // Without `command` the image's ENTRYPOINT runs `args`; a shell in args is still the judge.
      const argv = command === undefined ? args : [...command, ...args];
      const shell = findShellInvocation(argv, shells);
      if (shell === undefined || scriptHandsOffWithExec(shell.script)) continue;
      findings.push({
        container: container.name,
        message: `runs \`${shell.shell} ${shell.flag}\` as PID 1: the shell swallows SIGTERM and the app is SIGKILLed after the grace period`,
      });
    }
    return findings;
  },
};
