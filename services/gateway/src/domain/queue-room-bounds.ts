import type { QueueCaps, QueueRoom } from './queue-pressure';

/** How long an exact reading of the queue's counts vouches for them, with this process's own admissions added. */
export const QUEUE_ROOM_READING_MS = 1_000;
/** Keys whose readings are held at once; past it, stale ones are dropped (and all, if none is stale). */
const MAX_KEYS_HELD = 10_000;

interface Reading {
  count: number;
  readAt: number;
}

/**
 * Upper bounds of the two counts the queue caps are checked against (MAX_QUEUE_DEPTH: generations
 * waiting; MAX_QUEUED_PER_KEY: a key's queued or running), so that most admissions need no count.
 *
 * Why: counting is exact but costs an index range and a heap visit per counted generation, so a
 * POST paid for the whole backlog (up to 11,000 visits under the default caps). Measured in a
 * 2,000-job backlog, the key-and-room statement averaged 0.44 ms and 640 buffer reads, the most
 * expensive statement of a job, and counting sub-plans took 8 % of the machine's CPU.
 *
 * How: an exact reading (the statement that reads the key and the counts) is kept for
 * QUEUE_ROOM_READING_MS; each admission this process makes on it adds one to both counts. A
 * generation only leaves the counts through a transition (started, ended), which a bound does not
 * see, so in one process the bounds are never below the truth: while they leave room, the
 * generation is admitted without counting; once they say full, or have aged, the counts are read
 * again, so a queue that has room again is seen at once. What a bound cannot see is another
 * process admitting meanwhile (another gateway replica, a queue producer): so the bounds are an
 * early check only. MAX_QUEUED_PER_KEY is held exactly where a generation is written, counted
 * again under the key's lock (JobLifecycle.createWithinCap); MAX_QUEUE_DEPTH rests on these bounds
 * alone, and can be passed by what other processes admit in QUEUE_ROOM_READING_MS (which their own
 * rate limits bound), as requests racing one another already could with counts read each time.
 */
export class QueueRoomBounds {
  private depth: Reading | undefined;
  private readonly ofKey = new Map<string, Reading>();
  /** Each key's id by its hash, as last read: the bound of a key is found before its row is read again. */
  private readonly keyOfHash = new Map<string, string>();

  constructor(
    readonly caps: QueueCaps,
    private readonly readingMs = QUEUE_ROOM_READING_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The id of the key with this hash, when its counts were read before. */
  keyOf(hash: string): string | undefined {
    return this.keyOfHash.get(hash);
  }

  /**
   * Takes a place in the queue for `key` (a key id, or '' for the keyless local caller) when the
   * bounds still vouch for one; false when the counts must be read (then `record`, and `admitted`
   * if the reading leaves room).
   */
  reserve(key: string): boolean {
    const at = this.now();
    const depth = this.depth;
    const mine = this.ofKey.get(key);
    if (!depth || !mine || at - depth.readAt > this.readingMs || at - mine.readAt > this.readingMs) return false;
    if (depth.count >= this.caps.maxQueueDepth || mine.count >= this.caps.maxQueuedPerKey) return false;
    depth.count++;
    mine.count++;
    return true;
  }

  /** An exact reading of the counts for `key` (its hash too, when the key was read by it). */
  record(key: string, room: QueueRoom, hash?: string): void {
    const readAt = this.now();
    if (this.ofKey.size >= MAX_KEYS_HELD && !this.ofKey.has(key)) this.forgetStale(readAt);
    this.depth = { count: room.depth, readAt };
    this.ofKey.set(key, { count: room.ofKey, readAt });
    if (hash !== undefined) this.keyOfHash.set(hash, key);
  }

  /** A generation admitted on a reading (`record`): its place counts until the next reading. */
  admitted(key: string): void {
    if (this.depth) this.depth.count++;
    const mine = this.ofKey.get(key);
    if (mine) mine.count++;
  }

  /**
   * A generation admitted on an exact count of the depth alone (the retry of a queue producer's
   * generation, in no key's share): the depth bound is that count with it added, so what the bounds
   * vouch for next counts its place (and the places a bound still fresh counted, not yet written).
   */
  admittedOnDepth(depth: number): void {
    const at = this.now();
    const held = this.depth && at - this.depth.readAt <= this.readingMs ? this.depth.count : 0;
    this.depth = { count: Math.max(held, depth) + 1, readAt: at };
  }

  /** The key's share was found full by an exact count (under its lock): its bound says so until read again. */
  full(key: string): void {
    const mine = this.ofKey.get(key);
    if (mine) mine.count = Math.max(mine.count, this.caps.maxQueuedPerKey);
  }

  private forgetStale(at: number): void {
    for (const [key, reading] of this.ofKey) if (at - reading.readAt > this.readingMs) this.ofKey.delete(key);
    if (this.ofKey.size >= MAX_KEYS_HELD) this.ofKey.clear();
    const held = new Set(this.ofKey.keys());
    for (const [hash, key] of this.keyOfHash) if (!held.has(key)) this.keyOfHash.delete(hash);
  }
}
