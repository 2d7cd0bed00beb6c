import type { Logger } from '@anime/logger';
import type { JobEventPublisher, JobLifecycle } from '@anime/pipeline';

type Tick = { value: number; max: number; node: string | null };

/**
 * What ComfyUI tells about one prompt while it runs (started, progress ticks), recorded and
 * published one after another in the order it came. The started notice waits one turn of the event
 * loop: a first tick that arrived with it (a fast sampler, or a busy process reading both at once)
 * takes it along, and the two are one statement (job:started then job:progress, in seq order).
 */
export class PromptNotices {
  private chain: Promise<void>;
  private startedDue = false;

  constructor(
    private readonly deps: { lifecycle: JobLifecycle; events: JobEventPublisher; log: Logger },
    private readonly jobId: string,
    private readonly promptId: string,
    /** What must be published first (the attempt's job:submitted): every notice waits for it. */
    after: Promise<void> = Promise.resolve(),
  ) {
    this.chain = after.catch(() => undefined);
  }

  /** ComfyUI began executing the prompt. Returns at once, so the follower hands over a tick that came with it. */
  started = (): void => {
    this.startedDue = true;
    void this.enqueue('started', async () => {
      await new Promise((resolve) => setImmediate(resolve));
      if (!this.startedDue) return;
      this.startedDue = false;
      await this.deps.events.publishAll([await this.deps.lifecycle.started(this.jobId, this.promptId)]);
    });
  };

  /** A progress tick; resolves once it is recorded and published (the follower collapses ticks meanwhile). */
  progress = (tick: Tick): Promise<void> => {
    if (this.startedDue) {
      this.startedDue = false;
      return this.enqueue('progress', async () => this.deps.events.publishAll(await this.deps.lifecycle.startedWithProgress(this.jobId, this.promptId, tick)));
    }
    return this.enqueue('progress', async () => this.deps.events.publishAll([await this.deps.lifecycle.progress(this.jobId, tick)]));
  };

  /** Resolves once everything noticed so far is recorded (or failed and was logged): before the outcome is. */
  settled(): Promise<void> {
    return this.chain;
  }

  private enqueue(what: string, write: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(write).catch((error) => {
      this.deps.log.warn(`could not record the prompt's ${what}`, { jobId: this.jobId, promptId: this.promptId, error: (error as Error).message });
    });
    return this.chain;
  }
}
