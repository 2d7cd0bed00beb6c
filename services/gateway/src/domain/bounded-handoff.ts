import type { Logger } from '@anime/logger';

/**
 * How long an answer waits for Redis to take a hand-off (an event, a queue message, a cancel notice)
 * whose record is already committed in PostgreSQL. The services' Redis connections queue commands
 * while Redis is away (a restart, a network cut) instead of failing them, so an unbounded wait held
 * the request until Redis came back; a client timing out then posts again and gets a second generation.
 */
export const HANDOFF_WAIT_MS = 2_000;

/**
 * Waits for `handoff` at most `waitMs`. What it could not deliver in time goes out when Redis is back
 * (the queued commands), and the recovery sweep re-enqueues from PostgreSQL whatever Redis lost; a
 * refusal is logged, never thrown: the caller's record stands, so its answer must too.
 */
export async function boundedHandoff(handoff: Promise<unknown>, log: Logger, what: string, fields: Record<string, unknown>, waitMs = HANDOFF_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    handoff.then(
      () => 'delivered' as const,
      (error: unknown) => {
        log.warn(`could not ${what}; the recovery sweep will`, { ...fields, error: (error as Error).message });
        return 'refused' as const;
      },
    ),
    new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), waitMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (outcome === 'late') log.warn(`Redis did not answer within ${waitMs} ms to ${what}; answering now, it is sent once Redis is back (and the recovery sweep re-enqueues what Redis lost)`, fields);
}
