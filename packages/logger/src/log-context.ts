import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written inside a request or a queue job carries. */
export interface LogContext {
  requestId?: string;
  correlationId?: string;
  jobId?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

export function withContext<T>(context: LogContext, run: () => T): T {
  return storage.run({ ...storage.getStore(), ...context }, run);
}

export function currentContext(): LogContext {
  return storage.getStore() ?? {};
}
