import type { ImportLog } from '../legacy/import-legacy';

/** Progress on stderr, so stdout carries only the summary (or the JSON report). */
export const consoleLog: ImportLog = {
  info: (message) => console.error(message),
  warn: (message) => console.error(`warning: ${message}`),
  error: (message) => console.error(`error: ${message}`),
};
