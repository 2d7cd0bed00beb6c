import { z } from 'zod';
import { opsHost } from './edge-fields';
import { webhookAllow } from './webhook-allow';

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
export const webhookRetryDelays = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (!parts.length) return undefined;
    const delays: number[] = [];
    for (const [index, part] of parts.entries()) {
      const match = /^(\d+)(ms|s|m|h)$/.exec(part);
      const ms = match ? Number(match[1]) * DURATION_UNIT_MS[match[2]] : NaN;
      if (!(ms >= 0 && ms <= 24 * 3_600_000)) {
        // By its position, never its text: a config error names the variable, not its value.
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1} of ${parts.length} is not a duration of 0 to 24h (e.g. 500ms, 5s, 5m, 2h)` });
        return z.NEVER;
      }
      delays.push(ms);
    }
    if (delays.length > 20) {
      ctx.addIssue({ code: 'custom', message: 'at most 20 waits (21 tries)' });
      return z.NEVER;
    }
    return delays;
  });

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.join(' or ')}//`);

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/**
 * A Redis URL whose database index (the path, or a `db` query parameter) is a whole number: ioredis
 * would send `SELECT NaN` for `/abc`. Whether the server has that many databases only it can say
 * (the services ask at start).
 */
const redisUrl = urlWithProtocol(['redis:', 'rediss:']).refine((value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return true; // reported as not a URL
  }
  const db = url.searchParams.get('db');
  return /^\/?(\d+)?$/.test(url.pathname) && (db === null || /^\d+$/.test(db));
}, 'the database index (the path after host:port) must be a whole number such as /0');

/** Variables every service shares (see ../shared/CONTRACT.md). */
export const sharedEnv = {
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']),
  /**
   * How long one statement may go unanswered before it fails as "database unavailable" (503, a
   * deferred stage) and its connection is closed: a partitioned or frozen PostgreSQL closes nothing,
   * and would hold requests and stage jobs for as long as it lasts. Deployments differ in how slow a
   * loaded server may be, hence a variable; below 1 s ordinary statements of a busy server are cut.
   */
  DATABASE_QUERY_TIMEOUT_MS: z.coerce.number().int().min(1_000, 'must be at least 1000 (ms)').max(600_000, 'must be at most 600000 (10 minutes)').default(10_000),
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" and "_" only').default('bull'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** How often each worker service re-enqueues, from PostgreSQL, work Redis lost (ms). */
  RECOVERY_SWEEP_MS: z.coerce.number().int().min(500).max(3_600_000).default(30_000),
  /**
   * Tries of a job's render stage on transient faults (backend unreachable, 5xx) before it fails.
   * Shared: whoever hands a job to generation-renders sets its attempts from it.
   */
  JOB_MAX_ATTEMPTS: z.coerce.number().int().positive().max(50, 'must be at most 50').default(3),
  /**
   * How long finished BullMQ jobs stay in Redis for dashboards (seconds; each queue also keeps at
   * most 1,000 completed and 5,000 failed): PostgreSQL is the record. Shared: producers set them.
   */
  QUEUE_KEEP_COMPLETED_S: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(3600),
  QUEUE_KEEP_FAILED_S: z.coerce.number().int().min(1).max(90 * 24 * 3600).default(7 * 24 * 3600),
  /** About how many entries the generation-events stream keeps (XADD MAXLEN ~); shared: every service publishes. */
  GENERATION_EVENTS_MAXLEN: z.coerce.number().int().min(1_000).max(10_000_000).default(100_000),
  /** Where each worker service's /healthz, /readyz and /metrics listen (containers set 0.0.0.0 for probes). */
  OPS_HOST: opsHost,
  /** Webhook targets allowed although not public: host names, IPs, CIDRs (comma list); empty: public addresses only. */
  WEBHOOK_ALLOW: webhookAllow,
  /**
   * The waits between a webhook message's tries (comma list of durations: `500ms`, `5s`, `5m`, `2h`;
   * one try more than waits); empty: Standard Webhooks' 5s,5m,30m,2h,5h,10h,10h. Each is drawn ± 10 %.
   */
  WEBHOOK_RETRY_DELAYS: webhookRetryDelays,
};

export const comfyUrls = z
  .string()
  .default('')
  .transform((value, ctx) => {
    const urls = value.split(',').map((s) => s.trim()).filter(Boolean);
    for (const [index, url] of urls.entries()) {
      try {
        const parsed = new URL(url);
        if (!['http:', 'https:'].includes(parsed.protocol)) throw new Error();
      } catch {
        // By its position, never its text: an entry may carry credentials (ftp://user:password@host).
        ctx.addIssue({ code: 'custom', message: `entry ${index + 1} of ${urls.length} is not an http(s) URL` });
        return z.NEVER;
      }
    }
    return urls.map((u) => u.replace(/\/+$/, ''));
  });

export const libraryDir = z.string().min(1, 'must be a directory path');

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
