/** What brings a delayed queue job back before its delay ends (BullMQ's Job.promote). */
export interface Promotable {
  promote(): Promise<void>;
}

/** The first delay of a job handed back; each further hand-back of it doubles it, up to longestDelayMs(). */
export const HAND_BACK_FIRST_DELAY_MS = 1_000;
/**
 * The longest a handed-back job stays delayed while few are handed back: it is brought back sooner
 * (promoted) once a place near it comes free in any process sharing the queue (SharedHandBacks), so
 * the delay only bounds how long one no process promotes (its line lost, Redis failing) waits.
 */
export const HAND_BACK_MAX_DELAY_MS = 30_000;
/**
 * How many handed-back jobs per second this process lets come back on their own delay, however
 * many it holds handed back: past HAND_BACK_RETURNS_PER_S * 30 s of them, the longest delay grows
 * with their number. Each return that finds no place is handed back again (some 75-115 Redis calls
 * with the shared lines, scripts' own included, and a log line); with 30 s for all, a backlog of N
 * cost N/30 of them a second (10,000: ~30k Redis calls/s).
 */
export const HAND_BACK_RETURNS_PER_S = 10;
/**
 * The longest delay however many are handed back: what a job no process promotes waits at most (its
 * shared line lives a while longer: LINE_TTL_MS).
 */
export const HAND_BACK_DELAY_CAP_MS = 15 * 60_000;
/** A promoted job not back in acquire() within this long (another process took it) no longer counts as coming. */
const PROMOTED_ARRIVAL_MS = 5_000;
/** How often at most the jobs whose delay ended elsewhere (another process took them) are forgotten. */
const PRUNE_EVERY_MS = 1_000;

/**
 * A job's place in line: its priority rank first, then when it was first handed back (ms), as one
 * number (the order of SharedHandBacks' lines too). Ranks are PRIORITY_RANK (1 to 10); 1e13 ms is
 * some 300 years, and rank × 1e13 stays an exact double.
 */
export const handBackScore = (rank: number, firstAt: number): number => rank * 1e13 + firstAt;
/**
 * Jobs remembered. Past this many, the last in line (the least urgent, then the last handed back) is
 * not: the first in line are the ones promoted next. One not remembered comes back after the longest
 * delay (thousands are ahead of it), and is remembered once it is handed back with room to spare.
 */
export const REMEMBERED = 10_000;

interface Entry {
  rank: number;
  /** The backends it waited for a place on (any of them may take it). */
  backends: string[];
  /** How often it was handed back (its next delay doubles each time). */
  times: number;
  /** Its place in line (handBackScore), kept from its first hand-back. */
  score: number;
  /** When its last delay ends, and a promotion of it has had time to arrive: past this, unless here, it came back elsewhere. */
  until: number;
  /** Set while it is delayed in Redis (it can be promoted); unset while a process holds it. */
  job?: Promotable;
  /** In acquire() here since it was last handed back. */
  here?: boolean;
}

/**
 * The render jobs this process handed back to their queue, delayed, because enough jobs already
 * waited for a place on every backend that could run them (BackendPool.acquire). Once fewer wait
 * for a place on one of those backends than it has places, the most urgent of them (lowest rank,
 * then the first handed back) is promoted, so it comes back as the place comes free rather than
 * when its delay ends; promoted jobs still on their way count as waiting, so a place is filled once.
 * With the shared lines (SharedHandBacks) the lines decide what is promoted and what goes first; this
 * book then keeps each job's delay, its place in line, and the promoted jobs on their way here.
 */
export class HandedBackJobs {
  private readonly entries = new Map<string, Entry>();
  /** Promoted and not back yet: each one's backends and when it was promoted. */
  private readonly coming = new Map<string, { backends: string[]; at: number }>();
  private prunedAt = 0;

  /** The job `key` is in acquire() again: it is not delayed, nor still coming. */
  arrived(key: string): void {
    this.coming.delete(key);
    const entry = this.entries.get(key);
    if (entry) Object.assign(entry, { job: undefined, here: true });
  }

  /**
   * The job `key` is handed back once more: how long it stays delayed. `score`, its place in line
   * when it had one before this process knew it (another process handed it back first); `before`,
   * how often it may have been handed back before by any process (this one counts only its own, and
   * forgets a job another process took: its delay would start again from the first).
   */
  handingBack(key: string, rank: number, backends: string[], score?: number, before = 0): number {
    this.prune();
    if (!this.entries.has(key) && this.entries.size >= REMEMBERED) {
      const last = this.lastInLine();
      if (!last || last[1].rank <= rank) return this.spread(this.longestDelayMs());
      this.entries.delete(last[0]);
    }
    const entry = this.entries.get(key) ?? { rank, backends, times: 0, score: score ?? handBackScore(rank, Date.now()), until: 0 };
    Object.assign(entry, { rank, backends, times: Math.max(entry.times, before) + 1, job: undefined, here: false });
    // Kept in its place (the order of its first hand-back) when it is handed back again.
    this.entries.set(key, entry);
    const longest = this.longestDelayMs();
    const doubled = HAND_BACK_FIRST_DELAY_MS * 2 ** Math.min(entry.times - 1, 30);
    const delayMs = doubled < longest ? doubled : this.spread(longest);
    entry.until = Date.now() + delayMs + PROMOTED_ARRIVAL_MS;
    return delayMs;
  }

  /** How often the job `key` was handed back, by any process as far as known here (its last hand-back included); undefined when not remembered. */
  timesOf(key: string): number | undefined {
    return this.entries.get(key)?.times;
  }

  /** Per backend, how many of the jobs held handed back (delayed, on their way, or back and waiting) could take a place there. */
  waitingFor(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { backends } of this.entries.values()) for (const url of backends) counts[url] = (counts[url] ?? 0) + 1;
    return counts;
  }

  /** The place in line of the job `key` when this process handed it back (handBackScore). */
  scoreOf(key: string): number | undefined {
    return this.entries.get(key)?.score;
  }

  /**
   * Forgets, at most once per PRUNE_EVERY_MS, the jobs whose delay ended (and whose promotion had
   * time to arrive) without them coming back here: another process took them. Else, with another
   * process promoting them from the shared lines, they stayed here as delayed for good, ahead of
   * every job of their rank, and counted against the longest delay.
   */
  private prune(): void {
    const now = Date.now();
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    for (const [key, entry] of this.entries) if (!entry.here && entry.until < now && !this.coming.has(key)) this.entries.delete(key);
  }

  /**
   * A delay of about `longest`: past HAND_BACK_MAX_DELAY_MS, spread ±25% (no more than the cap), as
   * a deep backlog handed back within seconds would otherwise come back all at once every `longest`.
   */
  private spread(longest: number): number {
    if (longest <= HAND_BACK_MAX_DELAY_MS) return longest;
    return Math.round(Math.min(longest * (0.75 + Math.random() / 2), HAND_BACK_DELAY_CAP_MS));
  }

  /**
   * The longest delay now: HAND_BACK_MAX_DELAY_MS, or as long as returning every job held handed
   * back takes at HAND_BACK_RETURNS_PER_S, up to HAND_BACK_DELAY_CAP_MS. The jobs are brought back
   * in order by promotion, as places come free; their own delays only catch what promotion misses.
   */
  longestDelayMs(): number {
    return Math.min(Math.max(HAND_BACK_MAX_DELAY_MS, (this.entries.size * 1_000) / HAND_BACK_RETURNS_PER_S), HAND_BACK_DELAY_CAP_MS);
  }

  /**
   * Whether a job delayed here should take a place on one of `backends` before the job `key` of
   * `rank` does: a more urgent one, or one as urgent handed back before it (all of them, when `key`
   * was never handed back). A job back on its own delay then goes back again and that one is
   * promoted, so that within a priority they come back in the order they were first handed back.
   */
  hasAhead(key: string, rank: number, backends: string[]): boolean {
    let reachedSelf = false;
    const now = Date.now();
    for (const [other, entry] of this.entries) {
      if (other === key) {
        reachedSelf = true;
        continue;
      }
      // Its delay over, it is no longer delayed: back here (then not in this list as delayed) or taken elsewhere.
      if (!entry.job || entry.until < now || entry.rank > rank || (entry.rank === rank && reachedSelf)) continue;
      if (entry.backends.some((url) => backends.includes(url))) return true;
    }
    return false;
  }

  /** The entry promoted last: the least urgent, then the last handed back. */
  private lastInLine(): [string, Entry] | undefined {
    let last: [string, Entry] | undefined;
    for (const item of this.entries) if (!last || item[1].rank >= last[1].rank) last = item;
    return last;
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

  /**
   * A job promoted and not back here in time: another process took it, or its stage ended without a
   * render (its generation was canceled). Forgotten, so that no such job stays in the line for good.
   */
  private notComing(key: string): void {
    this.coming.delete(key);
    const entry = this.entries.get(key);
    if (entry && !entry.job && !entry.here) this.entries.delete(key);
  }

  /**
   * The job `key` was promoted from the shared line of `url` (by this process): it is on its way, and
   * counts as waiting for a place on the backends it waits for (those known here, else `url`).
   */
  promotedFrom(url: string, key: string): void {
    const entry = this.entries.get(key);
    if (entry) entry.job = undefined;
    this.coming.set(key, { backends: entry?.backends ?? [url], at: Date.now() });
  }

  /** Promoted jobs on their way that could take a place on `url`. */
  comingFor(url: string): number {
    const now = Date.now();
    let count = 0;
    for (const [key, { backends, at }] of this.coming) {
      if (now - at > PROMOTED_ARRIVAL_MS) this.notComing(key);
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
