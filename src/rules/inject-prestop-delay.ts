import { z } from 'zod';
import { isObject, type ClusterInfo, type JsonObject, type RuleFinding } from '../core/types.js';
import type { MutatingRule } from './rule.js';

/** Kubernetes' default when terminationGracePeriodSeconds is unset. */
export const DEFAULT_GRACE_PERIOD_SECONDS = 30;

const params = z
  .object({
    /** How long preStop waits before SIGTERM is sent. */
    seconds: z.number().int().min(1).max(300).default(5).describe('Seconds to wait before SIGTERM (1-300).'),
    /**
     * `sleep`: the native `lifecycle.preStop.sleep` action (beta and on by default since 1.30, GA in 1.34);
     * `exec`: runs `sleep N` in the container (older clusters; the image needs a `sleep` binary);
     * `auto`: `sleep` unless the cluster is known to be older than 1.30.
     */
    action: z
      .enum(['auto', 'sleep', 'exec'])
      .default('auto')
      .describe(
        '`sleep`: the native preStop sleep action (1.30+); `exec`: runs `sleep N` in the container (needs a sleep binary); `auto`: `sleep` unless the cluster is known to be older than 1.30.',
      ),
    /** Time the app gets after SIGTERM; the grace period is raised to at least `seconds` plus this. */
    shutdownWindowSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(10)
      .describe('Time the app gets after SIGTERM: the grace period is raised to at least `seconds` plus this (1-3600).'),
  })
  .strict();

type Params = z.infer<typeof params>;

function useSleepAction(action: Params['action'], cluster: ClusterInfo): boolean {
  if (action !== 'auto') return action === 'sleep';
  const version = cluster.version;
  return version === undefined || version.major > 1 || version.minor >= 30;
}

function preStopHandler(seconds: number, sleepAction: boolean): JsonObject {
  return sleepAction ? { sleep: { seconds } } : { exec: { command: ['sleep', String(seconds)] } };
}

export const injectPrestopDelay: MutatingRule<Params> = {
  meta: {
    id: 'inject-prestop-delay',
    type: 'mutating',
    title: 'preStop delay before SIGTERM',
    summary:
      'containers that serve traffic (every regular container and native sidecar of a long-running workload) get a preStop delay ' +
      '(native `sleep` action, or `exec sleep` before 1.30); `terminationGracePeriodSeconds` is raised above delay + shutdown window; an existing preStop is never touched',
    why:
      'Endpoints are removed from Services while SIGTERM is already on its way; without a short ' +
      'delay the container stops while requests are still routed to it, and they fail.',
    fix:
      'Add lifecycle.preStop.sleep.seconds (or an exec `sleep`) of a few seconds to the container, ' +
      'and keep terminationGracePeriodSeconds above that delay plus the shutdown time.',
    defaultMode: 'enforce',
    scope: {
      workloads: 'long-running',
      containers: ['sidecar', 'container'],
      reason:
        '"Containers that serve traffic" means every regular container and native sidecar of a long-running workload, ' +
        'not only those that declare ports: the Pod leaves the Service endpoints as a whole, containerPort is ' +
        'informational (a Service can target a port no container declares), and a container without ports is often ' +
        'one the serving container needs (a proxy, a database connector) that must not stop first. A native ' +
        "sidecar's preStop runs at the same time as the regular containers' (its SIGTERM waits until they have " +
        'exited), so its delay adds nothing to the shutdown. Jobs, CronJobs and Pods that restart Never or ' +
        'OnFailure are behind no Service: a delay would only slow their deletion.',
    },
  },
  params,
  mutate({ workload, containers, params: { seconds, action, shutdownWindowSeconds }, cluster }) {
    const findings: RuleFinding[] = [];
    const sleepAction = useSleepAction(action, cluster);
    for (const container of containers) {
      const lifecycle = container.spec.lifecycle;
      if (isObject(lifecycle) && lifecycle.preStop !== undefined) continue;
      const handler = preStopHandler(seconds, sleepAction);
      container.spec.lifecycle = isObject(lifecycle) ? { ...lifecycle, preStop: handler } : { preStop: handler };
      findings.push({
        container: container.name,
        message: sleepAction
          ? `adds a preStop sleep of ${seconds}s (lifecycle.preStop.sleep.seconds)`
          : `adds a preStop exec \`sleep ${seconds}\``,
      });
    }
    if (findings.length === 0) return findings;

    const minimum = seconds + shutdownWindowSeconds;
    const current = workload.podSpec.terminationGracePeriodSeconds;
    const gracePeriod = typeof current === 'number' ? current : DEFAULT_GRACE_PERIOD_SECONDS;
    if (gracePeriod < minimum) {
      workload.podSpec.terminationGracePeriodSeconds = minimum;
      findings.push({
        message: `raises terminationGracePeriodSeconds from ${gracePeriod} to ${minimum} (${seconds}s delay + ${shutdownWindowSeconds}s to shut down)`,
      });
    }
    return findings;
  },
};
