import type { JobEventEnvelope } from '@anime/contracts';
import type { Logger } from '@anime/logger';
import type { JobEventPublisher, JobLifecycle } from '@anime/pipeline';

/**
 * An attempt's `job:submitted`: the prompt entered a backend's queue. The submit statement stores
 * the event with the attempt before the prompt is posted (a crash then resumes the recorded prompt
 * instead of posting a second one), but it is published only once ComfyUI has queued the prompt.
 * When ComfyUI refuses it, the event is taken out of the story again, and nothing is published for
 * the attempt. When the POST got no answer (ComfyUI may have queued the prompt, and a retry may
 * follow it), the event is published as stored.
 */
export class SubmittedNotice {
  /**
   * Resolves true once job:submitted is published (after `earlier`, the events recorded with it),
   * false when it is not. The prompt's own notices wait for it, and are dropped when ComfyUI refused the prompt.
   */
  readonly announced: Promise<boolean>;
  private decide!: (publish: boolean) => void;
  private decided = false;

  constructor(
    private readonly deps: { lifecycle: JobLifecycle; events: JobEventPublisher; log: Logger },
    private readonly event: JobEventEnvelope<'job:submitted'>,
    earlier: Promise<void> = Promise.resolve(),
  ) {
    const published = new Promise<boolean>((resolve) => (this.decide = resolve));
    this.announced = published.then(async (publish) => {
      await earlier;
      if (publish) await deps.events.publishAll([event]);
      return publish;
    });
  }

  /** ComfyUI queued the prompt (its POST answered so). */
  accepted = (): void => {
    this.settle(true);
  };

  /**
   * The attempt ended before ComfyUI answered the POST (unreachable, timed out, a 5xx, a cancel):
   * it may hold the prompt, so the stored event stands and is published. `publish` false (the
   * process is shutting down, and the next one resumes the recorded prompt) keeps it stored alone.
   */
  unanswered(options: { publish: boolean }): void {
    this.settle(options.publish);
  }

  /** ComfyUI refused the prompt (a 4xx, or node_errors): job:submitted is taken out of the story, unpublished. */
  async refused(): Promise<void> {
    if (!this.settle(false)) return;
    const { seq, payload: { jobId } } = this.event;
    try {
      await this.deps.lifecycle.withdrawSubmitted(jobId, seq);
    } catch (error) {
      this.deps.log.warn('could not take job:submitted out of the story of a prompt ComfyUI refused', { jobId, seq, error: (error as Error).message });
    }
  }

  /** Whether this call decided (the first of accepted, unanswered and refused does). */
  private settle(publish: boolean): boolean {
    if (this.decided) return false;
    this.decided = true;
    this.decide(publish);
    return true;
  }
}
