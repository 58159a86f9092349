import { pino, type Logger } from 'pino';

/** JSON logs on stdout. Admission objects are never logged; the paths below are a second guard. */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { service: 'lifecycle-guard' },
    redact: { paths: ['object', 'oldObject', 'request.object', 'request.oldObject', '*.env', '*.data'], censor: '[redacted]' },
  });
}
