import { countRateLimitRefusal } from '@anime/pipeline';
import { ApiError } from '../../http/api-error';

/** Seconds a refused import is asked to wait: an import of a typical bundle takes about that. */
export const IMPORT_RETRY_AFTER_S = 5;

/**
 * At most `limit` bundle imports at once (IMPORT_CONCURRENCY): each holds an upload on disk and
 * inflates entries, so more at once would multiply disk, CPU and memory. One more is refused at
 * once, never queued: a queue of uploads would hold their connections open as long.
 */
export class ImportSlots {
  private running = 0;

  constructor(private readonly limit: number) {}

  /** Takes a slot, or throws 429 `rate_limited`; the returned function gives it back (once). */
  take(): () => void {
    if (this.running >= this.limit) {
      countRateLimitRefusal('bundle_imports');
      throw new ApiError(429, 'rate_limited', `at most ${this.limit} bundle imports run at once; try again in ${IMPORT_RETRY_AFTER_S} s`, {
        reason: 'import_busy',
        limit: this.limit,
        retryAfterSeconds: IMPORT_RETRY_AFTER_S,
      });
    }
    this.running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running -= 1;
    };
  }
}
