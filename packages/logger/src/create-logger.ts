import winston from 'winston';
import { currentContext } from './log-context';

export type Logger = winston.Logger;

const SECRET_KEYS = /pass(word)?|secret|token|authorization|api[-_]?key/i;

/** Secrets never reach a log line, whatever the caller passes as metadata. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEYS.test(key)) info[key] = '[redacted]';
  }
  return info;
});

const addContext = winston.format((info) => Object.assign(info, currentContext(), info));

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service },
    format: winston.format.combine(
      addContext(),
      redact(),
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}
