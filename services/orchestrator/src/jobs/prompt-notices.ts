import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '@anime/logger';
import { progressEvent, progressSeqsFor, ticksReservedAtStart, type JobEventPublisher, type JobLifecycle, type ProgressTick, type ReservedTick } from '@anime/pipeline';

/** How often, at most, a tick published under a reserved seq is stored as the job's latest progress. */
export const PROGRESS_STORE_INTERVAL_MS = 500;

/**
 * What ComfyUI tells about one prompt while it runs (started, progress ticks), recorded and
 * published one after another in the order it came. The started notice waits one turn of the event
 * loop: a first tick that arrived with it (a fast sampler, or a busy process reading both at once)
 * takes it along, and the two are one statement (job:started then job:progress, in seq order).
 *
 * The started notice reserves seqs for the ticks the prompt is expected to send (its sampler
 * steps), and a tick past them reserves for its sampler's remaining steps. Ticks under reserved seqs
 * are published at once, with no statement on their way; the latest is stored at most every
 * PROGRESS_STORE_INTERVAL_MS, and always by the time the outcome is recorded (by `settled()`, or
 * with the outcome itself), whose seq comes after every reserved one. While this process follows
 * the prompt, no other writes an event of the job; should a store find the job no longer running
 * there, the reservation is dropped and the next tick goes through a guarded statement.
 */
export class PromptNotices {
  private chain: Promise<void>;
  /** Its job:submitted is not published (refused, or shutting down): nothing of the prompt is recorded. */
  private dropped = false;
  private startedDue = false;
  /** Seqs reserved for ticks and not used yet: next..last. */
  private reserved: { next: number; last: number } | undefined;
  /** The newest tick published under a reserved seq and not stored yet. */
  private unstored: ReservedTick | undefined;
  private storing: Promise<void> | undefined;
  private storeTimer: NodeJS.Timeout | undefined;
  private storedAt = 0;

  constructor(
    private readonly deps: { lifecycle: JobLifecycle; events: JobEventPublisher; log: Logger },
    private readonly jobId: string,
    private readonly promptId: string,
    /**
     * What must be published first (the attempt's job:submitted): every notice waits for it. False:
     * it is not published (ComfyUI refused the prompt, or the process stops), and no notice of the
     * prompt is recorded or published.
     */
    after: Promise<boolean | void> = Promise.resolve(),
    /** The ticks the prompt is expected to send (samplerSteps): the started notice reserves their seqs. */
    private readonly expectedTicks = 0,
  ) {
    this.chain = after.then(
      (published) => {
        if (published === false) this.dropped = true;
      },
      () => undefined,
    );
  }

  /** ComfyUI began executing the prompt. Returns at once, so the follower hands over a tick that came with it. */
  started = (): void => {
    this.startedDue = true;
    void this.enqueue('started', async () => {
      await nextTurn();
      if (!this.startedDue) return;
      this.startedDue = false;
      const ticks = ticksReservedAtStart(this.expectedTicks);
      const started = await this.deps.lifecycle.started(this.jobId, this.promptId, ticks);
      if (started && ticks > 0) this.reserveAfter(started.seq, ticks);
      await this.deps.events.publishAll([started]);
    });
  };

  /** A progress tick; resolves once it is published (the follower collapses ticks meanwhile). */
  progress = (tick: ProgressTick): Promise<void> => {
    if (this.startedDue) {
      this.startedDue = false;
      return this.enqueue('progress', async () => {
        const events = await this.deps.lifecycle.startedWithProgress(this.jobId, this.promptId, tick, progressSeqsFor(tick));
        this.reserve(events.at(-1)?.seq, tick);
        await this.deps.events.publishAll(events);
      });
    }
    return this.enqueue('progress', async () => {
      const seq = this.takeReserved();
      if (seq !== undefined) {
        await this.deps.events.publishAll([progressEvent(this.jobId, tick, seq)]);
        this.store({ tick, seq });
        return;
      }
      const event = await this.deps.lifecycle.progress(this.jobId, tick, progressSeqsFor(tick));
      this.reserve(event?.seq, tick);
      await this.deps.events.publishAll([event]);
    });
  };

  /** Resolves once everything noticed so far is published and recorded (or failed and was logged): before the outcome is. */
  async settled(): Promise<void> {
    const latest = await this.settledButLatest();
    if (!latest) return;
    this.unstored = latest;
    this.storeLatest();
    await this.storing;
  }

  /**
   * As settled(), but the latest tick published under a reserved seq and not stored yet is handed
   * over instead of stored: the caller stores it with the outcome, one statement less per prompt.
   */
  async settledButLatest(): Promise<ReservedTick | undefined> {
    await this.chain;
    do {
      clearTimeout(this.storeTimer);
      this.storeTimer = undefined;
      await this.storing;
    } while (this.storing);
    const latest = this.unstored;
    this.unstored = undefined;
    return latest;
  }

  private enqueue(what: string, write: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(() => (this.dropped ? undefined : write())).catch((error) => {
      this.deps.log.warn(`could not record the prompt's ${what}`, { jobId: this.jobId, promptId: this.promptId, error: (error as Error).message });
    });
    return this.chain;
  }

  /** The statement that published `seq` (the tick's, stored with it) reserved the seqs after it up to the sampler's last step. */
  private reserve(seq: number | undefined, tick: ProgressTick): void {
    if (seq === undefined) this.reserved = undefined;
    else this.reserveAfter(seq, progressSeqsFor(tick) - 1);
  }

  /** The `count` seqs after `seq` are this prompt's ticks'; what was stored with `seq` is the latest stored. */
  private reserveAfter(seq: number, count: number): void {
    this.unstored = undefined;
    this.storedAt = Date.now();
    this.reserved = { next: seq + 1, last: seq + count };
  }

  private takeReserved(): number | undefined {
    const reserved = this.reserved;
    if (!reserved || reserved.next > reserved.last) return undefined;
    return reserved.next++;
  }

  /** Keeps `latest` as the tick to store; stores it now, or once the interval since the last store is over. */
  private store(latest: ReservedTick): void {
    this.unstored = latest;
    if (this.storing || this.storeTimer) return;
    const wait = this.storedAt + PROGRESS_STORE_INTERVAL_MS - Date.now();
    if (wait <= 0) return this.storeLatest();
    this.storeTimer = setTimeout(() => {
      this.storeTimer = undefined;
      if (!this.storing) this.storeLatest();
    }, wait);
  }

  private storeLatest(): void {
    const latest = this.unstored;
    if (!latest) return;
    this.unstored = undefined;
    this.storedAt = Date.now();
    this.storing = this.deps.lifecycle
      .keepProgress(this.jobId, latest.tick, latest.seq)
      .then((kept) => {
        // Not running there any more, or a later tick stored: reserved seqs are not used again.
        if (!kept) this.reserved = undefined;
      })
      .catch((error) => {
        this.deps.log.warn("could not store the prompt's progress", { jobId: this.jobId, promptId: this.promptId, error: (error as Error).message });
      })
      .finally(() => {
        this.storing = undefined;
        if (this.unstored && !this.storeTimer) this.store(this.unstored);
      });
  }
}
