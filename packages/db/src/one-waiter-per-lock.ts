import { lockTimeoutOf, queryTimeoutOf, type Db } from './create-db';
import { isQueryTimeout } from './database-unavailable';

type Outcome = 'ok' | 'busy';

interface Turn {
  /** Settles once this turn and every turn before it ended: how this one ended. */
  done: Promise<Outcome>;
}

const turns = new WeakMap<Db, Map<string, Turn>>();

/** What a caller waiting here for its turn gets when the lock stayed busy: unavailable (503), as PostgreSQL's own lock timeout is. */
export class LockBusyError extends Error {
  readonly name = 'LockBusyError';
  readonly code = '55P03';
  constructor(lock: string) {
    super(`lock ${JSON.stringify(lock)} is held: the statements before this one waited for it past the lock timeout`);
  }
}

/**
 * Runs `work` (which takes the advisory lock named `lock` on `db`'s pool) after every earlier
 * call under the same name on this pool ended, so at most one pooled connection per lock waits
 * on PostgreSQL for it. Without this, a burst of one key's generations while its queue lock was
 * held (a slow or stuck holder in another process) took every pooled connection, each waiting on
 * the same lock, and every other request of the process, any key's read included, waited behind
 * them for the lock timeout.
 *
 * A call waits here at most the lock timeout (lockTimeoutOf); when the call before it found the
 * lock busy (its wait timed out) it fails the same way at once rather than wait on the same lock
 * again. So a waiter is answered within about twice the lock timeout (its wait here, then its own
 * statement's on PostgreSQL), not within the query timeout. After any other failure (a connection
 * dropped by a restart) the next call tries for itself.
 */
export async function oneWaiterPerLock<T>(db: Db, lock: string, work: () => Promise<T>): Promise<T> {
  let byName = turns.get(db);
  if (!byName) turns.set(db, (byName = new Map()));
  const previous = byName.get(lock);
  let end!: (outcome: Outcome) => void;
  const mine = new Promise<Outcome>((resolve) => (end = resolve));
  const turn: Turn = { done: previous ? Promise.all([previous.done, mine]).then(([, outcome]) => outcome) : mine };
  byName.set(lock, turn);
  void turn.done.then(() => {
    if (byName.get(lock) === turn) byName.delete(lock);
  });
  try {
    if (previous && (await withinBudget(previous.done, lockTimeoutOf(queryTimeoutOf(db)))) === 'busy') throw new LockBusyError(lock);
    const result = await work();
    end('ok');
    return result;
  } catch (error) {
    end(lockBusy(error) ? 'busy' : 'ok');
    throw error;
  }
}

/** A lock wait that ran out of time: PostgreSQL's lock_timeout (55P03), the client's query timeout, or a turn that waited here too long. */
function lockBusy(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '55P03' || error instanceof LockBusyError || isQueryTimeout(error);
}

/** The outcome, or 'busy' once `ms` passed without one. */
async function withinBudget(done: Promise<Outcome>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Outcome>((resolve) => (timer = setTimeout(() => resolve('busy'), ms)));
  try {
    return await Promise.race([done, expired]);
  } finally {
    clearTimeout(timer);
  }
}
