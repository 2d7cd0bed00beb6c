import type { Logger } from '@anime/logger';

/**
 * The longest a service takes from SIGTERM to its exit: past it the process exits whatever is still
 * closing. Whatever stops a container must wait at least this long before SIGKILL (compose's
 * stop_grace_period, a pod's terminationGracePeriodSeconds: test/infra checks both).
 */
export const SHUTDOWN_DEADLINE_MS = 20_000;

/**
 * SIGINT/SIGTERM (and an uncaught exception) run the stop function once, within a deadline,
 * then exit: 0 for a signal, 1 for a crash.
 */
export function installShutdown(log: Logger, stop: () => Promise<void>, deadlineMs = SHUTDOWN_DEADLINE_MS): void {
  let stopping = false;
  const run = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { reason });
    const timer = setTimeout(() => {
      log.error('shutdown deadline passed, exiting');
      process.exit(code || 1);
    }, deadlineMs);
    timer.unref();
    stop()
      .then(() => process.exit(code))
      .catch((error) => {
        log.error('shutdown failed', { error: (error as Error).message });
        process.exit(1);
      });
  };
  process.on('SIGINT', () => run('SIGINT', 0));
  process.on('SIGTERM', () => run('SIGTERM', 0));
  process.on('uncaughtException', (error) => {
    log.error('uncaught exception', { error: error.message, stack: error.stack });
    run('uncaughtException', 1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection', { error: String((reason as Error)?.message ?? reason) });
    run('unhandledRejection', 1);
  });
}

/**
 * A service's life in its process: started, then stopped by SIGINT/SIGTERM (installShutdown). A
 * signal while it starts (a start may wait long for PostgreSQL or Redis) exits 0 at once, nothing
 * having been taken on yet.
 */
export async function runService(log: Logger, start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  const startedNow = exitOnSignalWhileStarting(log);
  const service = await start();
  startedNow();
  installShutdown(log, service.stop);
}

/**
 * SIGINT/SIGTERM while the service starts: exit 0. Without a handler Node would end too, except as
 * PID 1 (a container's `node …/main.js`): the kernel ignores a signal PID 1 has no handler for, and
 * the pod waited out its grace period to be killed. Returns what removes the handlers, once the
 * start is over and installShutdown takes over.
 */
function exitOnSignalWhileStarting(log: Logger): () => void {
  const exit = (signal: NodeJS.Signals) => {
    log.info('stopped while starting', { reason: signal });
    process.exit(0);
  };
  process.on('SIGINT', exit);
  process.on('SIGTERM', exit);
  return () => {
    process.off('SIGINT', exit);
    process.off('SIGTERM', exit);
  };
}
