import { isDatabaseUnavailable } from '@anime/db';

export interface NotReady {
  code: 'not_ready' | 'database_unavailable';
  message: string;
}

/**
 * Runs a service's dependency checks for `/readyz`, at most `timeoutMs`: a probe must answer
 * quickly even while a dependency hangs (ioredis queues a ping while it reconnects). PostgreSQL
 * being away is named as such, so an operator reading the probe sees which dependency is missing.
 */
export async function checkReadiness(checks: (() => Promise<void>) | undefined, timeoutMs = 2_000): Promise<NotReady | null> {
  if (!checks) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`dependency checks did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([checks(), timeout]);
    return null;
  } catch (error) {
    if (isDatabaseUnavailable(error)) return { code: 'database_unavailable', message: 'PostgreSQL is unavailable' };
    return { code: 'not_ready', message: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
