/** What brings a delayed queue job back before its delay ends (BullMQ's Job.promote). */
export interface Promotable {
  promote(): Promise<void>;
}

/** The first delay of a job handed back; each further hand-back of it doubles it, up to HAND_BACK_MAX_DELAY_MS. */
export const HAND_BACK_FIRST_DELAY_MS = 1_000;
/**
 * The longest a handed-back job stays delayed: it is brought back sooner (promoted) once a place near
 * it comes free here, so the delay only bounds how long one this process cannot promote (another
 * process handed it back, or this one restarted) waits, and how often a deep backlog is read again.
 */
export const HAND_BACK_MAX_DELAY_MS = 30_000;
/** A promoted job not back in acquire() within this long (another process took it) no longer counts as coming. */
const PROMOTED_ARRIVAL_MS = 5_000;
/** Jobs remembered; the ones handed back first are forgotten past this many (they still come back after their delay). */
const REMEMBERED = 10_000;

interface Entry {
  rank: number;
  /** The backends it waited for a place on (any of them may take it). */
  backends: string[];
  /** How often it was handed back (its next delay doubles each time). */
  times: number;
  /** Set while it is delayed in Redis (it can be promoted); unset while a process holds it. */
  job?: Promotable;
}

/**
 * The render jobs this process handed back to their queue, delayed, because enough jobs already
 * waited for a place on every backend that could run them (BackendPool.acquire). Once fewer wait
 * for a place on one of those backends than it has places, the most urgent of them (lowest rank,
 * then the first handed back) is promoted, so it comes back as the place comes free rather than
 * when its delay ends; promoted jobs still on their way count as waiting, so a place is filled once.
 */
export class HandedBackJobs {
  private readonly entries = new Map<string, Entry>();
  /** Promoted and not back yet: each one's backends and when it was promoted. */
  private readonly coming = new Map<string, { backends: string[]; at: number }>();

  /** The job `key` is in acquire() again: it is not delayed, nor still coming. */
  arrived(key: string): void {
    this.coming.delete(key);
    const entry = this.entries.get(key);
    if (entry) entry.job = undefined;
  }

  /** The job `key` is handed back once more: how long it stays delayed. */
  handingBack(key: string, rank: number, backends: string[]): number {
    const entry = this.entries.get(key) ?? { rank, backends, times: 0 };
    Object.assign(entry, { rank, backends, times: entry.times + 1, job: undefined });
    // Kept in its place (the order of its first hand-back) when it is handed back again.
    this.entries.set(key, entry);
    if (this.entries.size > REMEMBERED) this.entries.delete(this.entries.keys().next().value!);
    return Math.min(HAND_BACK_FIRST_DELAY_MS * 2 ** (entry.times - 1), HAND_BACK_MAX_DELAY_MS);
  }

  /** The job `key` is delayed in its queue now: `job` promotes it. */
  delayed(key: string, job: Promotable): void {
    const entry = this.entries.get(key);
    if (entry) entry.job = job;
  }

  /** The job `key` got a place, or ended its wait otherwise: it is not handed back any more. */
  forget(key: string): void {
    this.entries.delete(key);
    this.coming.delete(key);
  }

  /** Promoted jobs on their way that could take a place on `url`. */
  comingFor(url: string): number {
    const now = Date.now();
    let count = 0;
    for (const [key, { backends, at }] of this.coming) {
      if (now - at > PROMOTED_ARRIVAL_MS) this.coming.delete(key);
      else if (backends.includes(url)) count++;
    }
    return count;
  }

  /**
   * Promotes up to `count` delayed jobs that could take a place on `url`, the most urgent first. A
   * promotion refused (the job is no longer delayed: its delay ended, another process holds it, it
   * was removed) forgets it and promotes the next such job in its place: the place may be the last
   * to come free there, and must not wait for a delay to end.
   */
  promoteFor(url: string, count: number): void {
    for (let i = 0; i < count; i++) {
      let best: [string, Entry] | undefined;
      for (const item of this.entries) {
        const [, entry] = item;
        if (entry.job && entry.backends.includes(url) && (!best || entry.rank < best[1].rank)) best = item;
      }
      if (!best) return;
      const [key, entry] = best;
      const job = entry.job!;
      entry.job = undefined;
      const coming = { backends: entry.backends, at: Date.now() };
      this.coming.set(key, coming);
      job.promote().catch(() => {
        if (this.entries.get(key) === entry && !entry.job) this.entries.delete(key);
        // Back here already (its delay ended meanwhile), it takes the place itself; else the next does.
        if (this.coming.get(key) !== coming) return;
        this.coming.delete(key);
        this.promoteFor(url, 1);
      });
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
