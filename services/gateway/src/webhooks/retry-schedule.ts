/**
 * When a failed webhook message is tried again. Its state (tries made, next one due) is kept in
 * PostgreSQL (webhook_messages), so a schedule of hours survives a Redis restart.
 */
export interface RetrySchedule {
  /** The wait after each failed try, in order: one try more than there are delays. */
  delaysMs: number[];
  /** Each wait is drawn within ± this fraction of it, so receivers are not hit by many senders at once. */
  jitter: number;
  /** The longest a receiver's Retry-After (on 429 or 503) may put a try off. */
  maxRetryAfterMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Standard Webhooks' example schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
 * later: 8 tries over about 27.6 hours, each wait ± 10 %.
 */
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = {
  delaysMs: [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR],
  jitter: 0.1,
  maxRetryAfterMs: 10 * HOUR,
};

/**
 * How long after failed try number `attempt` (1-based) the next one is due, or null when that was
 * the last. A Retry-After the receiver gave is honoured (the next try comes no sooner), up to the cap.
 */
export function nextRetryDelay(schedule: RetrySchedule, attempt: number, retryAfterMs: number | null, random = Math.random): number | null {
  const base = schedule.delaysMs[attempt - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - schedule.jitter + 2 * schedule.jitter * random()));
  const asked = retryAfterMs === null ? 0 : Math.min(retryAfterMs, schedule.maxRetryAfterMs);
  return Math.max(jittered, asked);
}

/** A Retry-After header (delay-seconds or an HTTP date) in ms from `now`; null when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * SECOND;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
