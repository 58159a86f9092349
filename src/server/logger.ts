import { pino, type Logger } from 'pino';

/**
 * JSON logs on stdout. Admission objects are never logged; the paths below are a second guard.
 * Written asynchronously (lines that arrive while a write is under way go out together; pino
 * flushes what is left when the process exits): one write per admission request cost the
 * webhook about 8% of its CPU (docs/performance.md).
 */
export function createLogger(level = 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'lifecycle-guard' },
      redact: { paths: ['object', 'oldObject', 'request.object', 'request.oldObject', '*.env', '*.data'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
