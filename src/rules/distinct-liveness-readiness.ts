import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { isObject, type JsonObject } from '../core/types.js';
import { longRunningContainers } from '../core/workload.js';
import type { ValidatingRule } from './rule.js';

const params = z.object({}).strict();

const HANDLER_FIELDS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

function handlerOf(probe: JsonObject): Partial<JsonObject> {
  return Object.fromEntries(HANDLER_FIELDS.filter((field) => probe[field] !== undefined).map((field) => [field, probe[field]]));
}

export const distinctLivenessReadiness: ValidatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'distinct-liveness-readiness',
    type: 'validating',
    title: 'Liveness and readiness probes differ',
    why:
      'When liveness checks the same thing as readiness, a container that is only busy is restarted ' +
      'instead of being taken out of the Service for a moment, and load spikes turn into restart storms.',
    fix:
      'Point the livenessProbe at a cheaper check that fails only when the process is stuck (or drop it), ' +
      'and keep the readinessProbe for "can serve right now".',
    defaultMode: 'off',
  },
  params,
  check({ workload }) {
    return longRunningContainers(workload)
      .filter(({ spec }) => {
        const { livenessProbe, readinessProbe } = spec;
        return (
          isObject(livenessProbe) && isObject(readinessProbe) && isDeepStrictEqual(handlerOf(livenessProbe), handlerOf(readinessProbe))
        );
      })
      .map((container) => ({ container: container.name, message: 'livenessProbe and readinessProbe run the same check' }));
  },
};
