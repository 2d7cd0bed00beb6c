import { FirstOccurrences, type Logger } from '@anime/logger';

/** A service's dependencies by name (`database`, `redis`, `comfyui`, …), each throwing when it does not answer. */
export type ReadinessChecks = Record<string, () => Promise<void>>;

/** The body of a `/readyz` answer. */
export type ReadinessReport = { status: 'ready'; service: string } | NotReadyReport;

/** The body of a 503 `/readyz` answer. */
export interface NotReadyReport {
  status: 'not_ready';
  service: string;
  /** The dependencies that did not answer, or the one a start waits for, by name; empty while the service starts or stops. */
  failing: string[];
  /** As every error body: a stable code and a sentence, never a driver's message (those go to the log). */
  error: { code: 'not_ready' | 'database_unavailable'; message: string };
}

/** PostgreSQL away is said as the API says it (`database_unavailable`); anything else is `not_ready`. */
const notReadyCode = (failing: string[]) => (failing.includes('database') ? 'database_unavailable' : 'not_ready');

/**
 * Runs a service's dependency checks for `/readyz`, side by side, each for at most `timeoutMs`: a
 * probe must answer quickly even while a dependency hangs (ioredis queues a ping while it
 * reconnects). The answer names which dependency failed; the cause (a driver's message, which may
 * carry host names or credentials) goes to the log only.
 */
export async function checkReadiness(service: string, checks: ReadinessChecks, options: { timeoutMs?: number; log?: Logger; now?: () => number } = {}): Promise<ReadinessReport> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => settleWithin(checks[name], timeoutMs)));
  const failing = names.filter((name, i) => {
    const error = results[i];
    if (options.log) logCheck(options.log, name, error, (options.now ?? Date.now)());
    return error !== null;
  });
  if (!failing.length) return { status: 'ready', service };
  return { status: 'not_ready', service, failing, error: { code: notReadyCode(failing), message: `${service} is not ready: ${failing.join(', ')} not answering` } };
}

/** The same failure of one dependency is logged at warn once per this long; the probes between at debug. */
const REPEAT_AFTER_MS = 60_000;

/**
 * The failures each logger (a service's) last logged at warn, by dependency (the same error again
 * within REPEAT_AFTER_MS is a repeat). Probes come every few seconds (each kubelet probe, each load
 * balancer's health check): a dependency down for an hour used to log a warn line per probe. Kept
 * per logger, so no caller holds the state.
 */
const lastWarned = new WeakMap<Logger, FirstOccurrences>();

function logCheck(log: Logger, dependency: string, error: Error | null, at: number): void {
  let warned = lastWarned.get(log);
  if (!warned) lastWarned.set(log, (warned = new FirstOccurrences({ repeatAfterMs: REPEAT_AFTER_MS })));
  if (!error) {
    if (warned.forget(dependency)) log.info('readiness check passes again', { dependency });
    return;
  }
  log.log(warned.occur(dependency, error.message, at) ? 'warn' : 'debug', 'readiness check failed', { dependency, error: error.message });
}

/** The report of a service that is starting or stopping: it takes no work whatever its dependencies say. */
export const notReadyWhileStarting = (service: string): NotReadyReport => ({
  status: 'not_ready',
  service,
  failing: [],
  error: { code: 'not_ready', message: `${service} is starting or stopping` },
});

/** The report of a service whose start waits for a dependency (`database`, `redis`): it is named in `failing`. */
export const notReadyWaitingFor = (service: string, dependency: string): NotReadyReport => ({
  status: 'not_ready',
  service,
  failing: [dependency],
  error: { code: notReadyCode([dependency]), message: `${service} is starting: waiting for ${dependency}` },
});

async function settleWithin(check: () => Promise<void>, timeoutMs: number): Promise<Error | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return null;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(timer);
  }
}
