import { z } from 'zod';
import { isObject } from '../core/types.js';
import type { ValidatingRule } from './rule.js';

const params = z.object({}).strict();

export const requireReadinessProbe: ValidatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'require-readiness-probe',
    type: 'validating',
    title: 'Readiness probe required',
    summary: 'every regular container and native sidecar of a long-running workload has a `readinessProbe`',
    why:
      'Without a readiness probe a container receives traffic before it can serve it, ' + 'and rollouts advance on Pods that are broken.',
    fix:
      'Add a readinessProbe (httpGet on a health endpoint, tcpSocket or exec) to the container; ' +
      'livenessProbe and startupProbe do not replace it.',
    defaultMode: 'enforce',
    scope: {
      workloads: 'long-running',
      containers: ['sidecar', 'container'],
      reason:
        'Pods of Jobs and CronJobs are behind no Service and no rollout waits for them to be ready; ' +
        'run-to-completion init containers cannot have probes.',
    },
  },
  params,
  check({ containers }) {
    return containers
      .filter((container) => !isObject(container.spec.readinessProbe))
      .map((container) => ({
        container: container.name,
        message: container.role === 'sidecar' ? 'native sidecar has no readinessProbe' : 'has no readinessProbe',
      }));
  },
};
