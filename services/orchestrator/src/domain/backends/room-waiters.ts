/** A job in acquire() waiting for a place on capable backends that are up, taking jobs and full. */
export interface RoomWaiter {
  /** Its PRIORITY_RANK: lower goes first. */
  rank: number;
  /** The order it began to wait in. */
  since: number;
  /** The backends it waits for a place on (routing's answer, as of its last look). */
  backends: string[];
  /** The key it may be handed back to its queue under (acquire's `handBackAs`); none when it may not. */
  key?: string;
  /** Handed back to make way for a more urgent job: it stops waiting at its next look. */
  evicted: boolean;
}

/**
 * The jobs waiting for a place on full backends, counted per backend: as many may wait for a
 * backend as it has places (each takes the next that comes free there), so that a job for another
 * backend never waits in Redis behind them for a worker slot (BackendPool.acquire hands the others back).
 */
export class RoomWaiters {
  private readonly waiters = new Set<RoomWaiter>();

  get size(): number {
    return this.waiters.size;
  }

  has(waiter: RoomWaiter): boolean {
    return this.waiters.has(waiter);
  }

  add(waiter: RoomWaiter): void {
    this.waiters.add(waiter);
  }

  /** False when it was not waiting (any more). */
  delete(waiter: RoomWaiter): boolean {
    return this.waiters.delete(waiter);
  }

  /** How many wait for a place on `url`. */
  countFor(url: string): number {
    let count = 0;
    for (const waiter of this.waiters) if (waiter.backends.includes(url)) count++;
    return count;
  }

  /**
   * Whether a job of `rank` may wait for a place on `backends` (all full, `capacity` places each):
   * while fewer wait for one of them than it has places (besides `coming(url)` more on their way); else by taking the wait of a less urgent job
   * for one of them that may be handed back (the least urgent, the last to come), which is marked
   * evicted, no longer counted, and returned in `evicted` for the caller to wake.
   */
  admit(backends: string[], rank: number, capacity: number, coming: (url: string) => number = () => 0): { admitted: boolean; evicted?: RoomWaiter } {
    if (backends.some((url) => this.countFor(url) + coming(url) < capacity)) return { admitted: true };
    let victim: RoomWaiter | undefined;
    for (const waiter of this.waiters) {
      if (!waiter.key || waiter.rank <= rank || !waiter.backends.some((url) => backends.includes(url))) continue;
      if (!victim || waiter.rank > victim.rank || (waiter.rank === victim.rank && waiter.since > victim.since)) victim = waiter;
    }
    if (!victim) return { admitted: false };
    victim.evicted = true;
    this.waiters.delete(victim);
    return { admitted: true, evicted: victim };
  }
}
