/** `work`'s answer, or undefined when it fails or takes longer than `ms` (its timer cleared either way). */
export async function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `work` at most `ms`: a shutdown step against a dependency that is down (a Redis
 * `quit` queued while reconnecting, a pool waiting for a query that never answers) must not hold
 * the process past its deadline. Failures and timeouts both resolve; the caller moves on.
 */
export async function bounded(work: Promise<unknown>, ms: number): Promise<'done' | 'failed' | 'timed out'> {
  return (await within(work.then(() => 'done' as const, () => 'failed' as const), ms)) ?? 'timed out';
}
