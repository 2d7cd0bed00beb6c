import type { JobEventEnvelope } from '@anime/contracts';
import type { Logger } from '@anime/logger';
import type { JobEventPublisher, JobLifecycle } from '@anime/pipeline';

/**
 * An attempt's `job:submitted`: the prompt entered a backend's queue. The submit statement stores
 * the event with the attempt before the prompt is posted (a crash then resumes the recorded prompt
 * instead of posting a second one), but it is published only once ComfyUI has queued the prompt.
 * When ComfyUI refuses it, or the POST ends with no answer, it is taken out of the story again, and
 * nothing is published for the attempt.
 */
export class SubmittedNotice {
  /**
   * Resolves true once job:submitted is published (after `earlier`, the events recorded with it),
   * false when the prompt was not queued. The prompt's own notices wait for it, and are dropped on false.
   */
  readonly announced: Promise<boolean>;
  private decide!: (queued: boolean) => void;
  private decided = false;

  constructor(
    private readonly deps: { lifecycle: JobLifecycle; events: JobEventPublisher; log: Logger },
    private readonly event: JobEventEnvelope<'job:submitted'>,
    earlier: Promise<void> = Promise.resolve(),
  ) {
    const queued = new Promise<boolean>((resolve) => (this.decide = resolve));
    this.announced = queued.then(async (isQueued) => {
      await earlier;
      if (isQueued) await deps.events.publishAll([event]);
      return isQueued;
    });
  }

  /** ComfyUI queued the prompt (its POST answered so). */
  accepted = (): void => {
    if (this.decided) return;
    this.decided = true;
    this.decide(true);
  };

  /**
   * The attempt ended before ComfyUI was known to have queued its prompt. `withdraw` false (the
   * process is shutting down, and the next one resumes the recorded prompt) keeps the stored event.
   */
  async notQueued(options: { withdraw: boolean }): Promise<void> {
    if (this.decided) return;
    this.decided = true;
    this.decide(false);
    if (!options.withdraw) return;
    const { seq, payload: { jobId } } = this.event;
    try {
      await this.deps.lifecycle.withdrawSubmitted(jobId, seq);
    } catch (error) {
      this.deps.log.warn('could not take job:submitted out of the story of a prompt ComfyUI did not queue', { jobId, seq, error: (error as Error).message });
    }
  }
}
