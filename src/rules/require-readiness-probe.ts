import { z } from 'zod';
import { isObject } from '../core/types.js';
import { longRunningContainers } from '../core/workload.js';
import type { ValidatingRule } from './rule.js';

const params = z.object({}).strict();

export const requireReadinessProbe: ValidatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'require-readiness-probe',
    type: 'validating',
    title: 'Readiness probe required',
    why:
      'Without a readiness probe a container receives traffic before it can serve it, ' + 'and rollouts advance on Pods that are broken.',
    fix:
      'Add a readinessProbe (httpGet on a health endpoint, tcpSocket or exec) to the container; ' +
      'livenessProbe and startupProbe do not replace it.',
    defaultMode: 'enforce',
  },
  params,
  check({ workload }) {
    if (workload.runToCompletion) return [];
    return longRunningContainers(workload)
      .filter((container) => !isObject(container.spec.readinessProbe))
      .map((container) => ({
        container: container.name,
        message: container.role === 'sidecar' ? 'native sidecar has no readinessProbe' : 'has no readinessProbe',
      }));
  },
};
