/**
 * The two pieces of a log that says an outage once rather than once per look: `FirstOccurrences`
 * tells, per key (a filing, a dependency), whether an occurrence is news (its first: logged at
 * info or warn) or a repeat (at debug); `LineEvery` lets a summary line through at most once per
 * interval, with how many occurrences it covers. Both take the clock (`now`) to test with.
 * A line's message stays at its caller: an operator greps it, and the README quotes it as written.
 */

/** Milliseconds, as Date.now. */
export type Clock = () => number;

interface Seen<S> {
  signature: S | undefined;
  /** When it was last news. */
  newsAt: number;
  /** When it last occurred. */
  seenAt: number;
}

export interface FirstOccurrencesOptions {
  now?: Clock;
  /** A repeat this long after its key's last news is news again (a warn a minute); none: never. */
  repeatAfterMs?: number;
  /** Keys remembered at most: past it the one seen longest ago is forgotten (its next occurrence is news again). */
  remembered?: number;
}

/**
 * Per key, whether an occurrence is news: the first of its key (since forgotten), one whose
 * `signature` (a reason, an error message) differs from its last, or, with `repeatAfterMs`, the
 * first that long after its last news. Anything else is a repeat.
 */
export class FirstOccurrences<S = string> {
  private readonly now: Clock;
  // A Map keeps insertion order: each occurrence moves its key last, so the first key is the one seen longest ago.
  private readonly seen = new Map<string, Seen<S>>();

  constructor(private readonly options: FirstOccurrencesOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** `key` occurs now (or `at`, a clock the caller holds), with `signature`: whether it is news. */
  occur(key: string, signature?: S, at: number = this.now()): boolean {
    const last = this.seen.get(key);
    const repeatAfterMs = this.options.repeatAfterMs;
    const news = !last || last.signature !== signature || (repeatAfterMs !== undefined && at - last.newsAt >= repeatAfterMs);
    this.seen.delete(key);
    this.seen.set(key, { signature, newsAt: news ? at : last!.newsAt, seenAt: at });
    const remembered = this.options.remembered;
    if (remembered !== undefined && this.seen.size > remembered) this.seen.delete(this.seen.keys().next().value!);
    return news;
  }

  /** `key` is over (it waits no more, it answers again): its next occurrence is news. Whether it was remembered. */
  forget(key: string): boolean {
    return this.seen.delete(key);
  }

  /** Forgets the keys that did not occur for longer than `ms`; how many of the others there are, per signature. */
  sweep(ms: number): Map<S | undefined, number> {
    const at = this.now();
    const counts = new Map<S | undefined, number>();
    for (const [key, seen] of this.seen) {
      if (at - seen.seenAt > ms) this.seen.delete(key);
      else counts.set(seen.signature, (counts.get(seen.signature) ?? 0) + 1);
    }
    return counts;
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface LineEveryOptions {
  now?: Clock;
  /**
   * Whether the first occurrence is a line at once (a warn the moment an outage begins), or starts
   * the interval the first line comes after (a summary, once there is a minute of something to sum up).
   */
  atOnce: boolean;
  /** An interval without occurrence starts anew (as if none had come): no line until a whole interval of them. */
  restartWhenIdle?: boolean;
}

/** What a line let through sums up: every occurrence since the last line (this one's included), and the tallies they added (none added: absent). */
export type Tally<K extends string> = { occurrences: number } & Partial<Record<K, number>>;

/** At most one line per `everyMs` (LineEvery.occur). */
export class LineEvery<K extends string = never> {
  private readonly now: Clock;
  /** When the interval running began: the last line, or the first occurrence since; undefined before any (or once reset). */
  private since: number | undefined;
  private lastAt = 0;
  private tally: Record<string, number> = {};

  constructor(
    readonly everyMs: number,
    private readonly options: LineEveryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Something occurs now, adding `add` to the tallies: what the line sums up when one is due, else undefined. */
  occur(add: Partial<Record<K, number>> = {}): Tally<K> | undefined {
    const at = this.now();
    if (this.since !== undefined && this.options.restartWhenIdle && at - this.lastAt > this.everyMs) this.reset();
    this.lastAt = at;
    const tally = this.tally;
    tally.occurrences = (tally.occurrences ?? 0) + 1;
    for (const [name, count] of Object.entries(add) as [string, number][]) tally[name] = (tally[name] ?? 0) + count;
    if (this.since === undefined) {
      this.since = at;
      if (!this.options.atOnce) return undefined;
    } else if (at - this.since < this.everyMs) return undefined;
    this.since = at;
    const line = this.tally as Tally<K>;
    this.tally = {};
    return line;
  }

  /** Nothing goes on any more (every filing waiting ended): the next occurrence is as the first. */
  reset(): void {
    this.since = undefined;
    this.tally = {};
  }
}
