import { z } from 'zod';
import type { MutatingRule } from './rule.js';

const params = z.object({}).strict();

export const terminationMessageFallback: MutatingRule<z.infer<typeof params>> = {
  meta: {
    id: 'termination-message-fallback',
    type: 'mutating',
    title: 'Crash reason in the termination message',
    summary: "`terminationMessagePolicy: FallbackToLogsOnError` on every container (`File`, the API server's default, counts as unset)",
    why:
      'With the default terminationMessagePolicy File, a container that crashes without writing ' +
      '/dev/termination-log leaves no reason in `kubectl describe pod`; FallbackToLogsOnError puts its last log lines there.',
    fix: 'Set terminationMessagePolicy: FallbackToLogsOnError on the container.',
    defaultMode: 'enforce',
    scope: {
      workloads: 'all',
      containers: ['init', 'sidecar', 'container'],
      reason: 'A crashing init container or Job needs its reason shown as much as a server does.',
    },
  },
  params,
  mutate({ containers }) {
    // The API server defaults the field to File before admission, so File counts as unset.
    return containers
      .filter((container) => container.spec.terminationMessagePolicy !== 'FallbackToLogsOnError')
      .map((container) => {
        container.spec.terminationMessagePolicy = 'FallbackToLogsOnError';
        return { container: container.name, message: 'sets terminationMessagePolicy to FallbackToLogsOnError' };
      });
  },
};
