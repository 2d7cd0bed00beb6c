/**
 * Waits for `work` at most `ms`: a shutdown step against a dependency that is down (a Redis
 * `quit` queued while reconnecting, a pool waiting for a query that never answers) must not hold
 * the process past its deadline. Failures and timeouts both resolve; the caller moves on.
 */
export async function bounded(work: Promise<unknown>, ms: number): Promise<'done' | 'failed' | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  try {
    return await Promise.race([work.then(() => 'done' as const, () => 'failed' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
