import { poolOf, type Db } from '@anime/db';
import { gate } from '@anime/testing';

/**
 * Runs `around` in place of every query the gateway's pool sends, given the statement's name (the
 * gateway names those tests wait on) and `send`, which sends it on. `mockRestore()` puts the pool back.
 */
export function aroundStatements(db: Db, around: (name: string | undefined, send: () => Promise<unknown>) => Promise<unknown>) {
  const pool = poolOf(db);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  return jest.spyOn(pool, 'query').mockImplementation((async (...args: unknown[]) => around((args[0] as { name?: string }).name, () => query(...args))) as never);
}

/**
 * Holds every run of the statement `name` until `release()`: `before-sending` holds it unsent, so
 * what it reads is what stands at the release; `after-answer` holds its answer, so what it read is
 * what stood before `reached`. `sent()` names every statement the pool sent meanwhile; `stop()`
 * releases and puts the pool back.
 */
export function holdStatement(db: Db, name: string, at: 'before-sending' | 'after-answer') {
  const reached = gate();
  const released = gate();
  const spy = aroundStatements(db, async (sentName, send) => {
    if (sentName !== name) return send();
    if (at === 'before-sending') {
      reached.open();
      await released.opened;
      return send();
    }
    const answer = await send();
    reached.open();
    await released.opened;
    return answer;
  });
  return {
    reached: reached.opened,
    release: released.open,
    sent: () => spy.mock.calls.map(([statement]) => (statement as { name?: string }).name),
    stop: () => {
      released.open();
      spy.mockRestore();
    },
  };
}
