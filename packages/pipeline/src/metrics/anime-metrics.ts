import type { JobErrorCode } from '@anime/contracts';
import { databaseStatements } from '@anime/db';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { heapAfterMajorCollection } from './heap-after-gc';

/**
 * Every `anime_*` metric, declared once. One registry per process: each service runs in its own
 * process, and code anywhere (the rate limiter, webhook delivery, a stage worker) increments these
 * without a registry being passed around. Each service's `/metrics` serves it beside prom-client's
 * process defaults (see metricsText).
 */
export const animeRegistry = new Registry();

type ScrapeHook = () => void | Promise<void>;
const scrapeHooks = new Map<string, ScrapeHook>();

/**
 * Gauges read at scrape time (queue depths from Redis, backend states from the pool) get their
 * values from the hook the owning code installs; returns the removal of that hook.
 */
export function onScrape(metric: 'anime_queue_jobs' | 'anime_backend_state', hook: ScrapeHook): () => void {
  scrapeHooks.set(metric, hook);
  return () => {
    if (scrapeHooks.get(metric) === hook) scrapeHooks.delete(metric);
  };
}
const runHook = (metric: string) => () => scrapeHooks.get(metric)?.();

/** Finished HTTP requests of the gateway, by the Express route pattern (never the raw URL) and status. */
export const httpRequestDuration = new Histogram({
  name: 'anime_http_request_duration_seconds',
  help: 'Gateway HTTP request durations by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [animeRegistry],
});

/** BullMQ jobs per queue and state; KEDA scales the workers on waiting + prioritized (infra/k8s). */
export const QUEUE_JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
export const queueJobs = new Gauge({
  name: 'anime_queue_jobs',
  help: 'Jobs in each BullMQ queue of the pipeline, by state (read from Redis at scrape time).',
  labelNames: ['queue', 'state'] as const,
  registers: [animeRegistry],
  collect: runHook('anime_queue_jobs'),
});

/**
 * How long a stage job ran, by queue, stage (the job name) and outcome: `completed`, `failed`
 * (final: the generation failed or the message was refused), `errored` (a transient fault; BullMQ
 * retries it while tries are left), `deferred` (PostgreSQL away: put back without spending a try).
 */
export const jobDuration = new Histogram({
  name: 'anime_job_duration_seconds',
  help: 'Stage job run time by queue, stage and outcome.',
  labelNames: ['queue', 'stage', 'outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  registers: [animeRegistry],
});

/** Each ComfyUI backend's state as a state set: 1 for its current state, 0 for the others. */
export const BACKEND_STATES = ['up', 'draining', 'down'] as const;
export const backendState = new Gauge({
  name: 'anime_backend_state',
  help: 'ComfyUI backend state as seen by this orchestrator: 1 for the current state, 0 otherwise.',
  labelNames: ['backend', 'state'] as const,
  registers: [animeRegistry],
  // Also fills anime_backend_busy_ratio and anime_backend_stuck, which are listed after it.
  collect: runHook('anime_backend_state'),
});

export const backendBusyRatio = new Gauge({
  name: 'anime_backend_busy_ratio',
  help: "Prompts this orchestrator drives on a backend, over what it may hold (one running plus BACKEND_PREFETCH).",
  labelNames: ['backend'] as const,
  registers: [animeRegistry],
});

/**
 * 1 while a backend is taken for down because its ComfyUI worker is stuck on a prompt that went on
 * running past its interrupt (it answers, but nothing queued there runs until ComfyUI is restarted or
 * lets go); 0 otherwise. Told apart from a backend that does not answer, which anime_backend_state
 * alone shows as `down` too. Filled by the anime_backend_state hook.
 */
export const backendStuck = new Gauge({
  name: 'anime_backend_stuck',
  help: 'ComfyUI backend taken for down because its worker is stuck on a prompt past its interrupt: 1 while it is, 0 otherwise.',
  labelNames: ['backend'] as const,
  registers: [animeRegistry],
});

/** Gateway: from a job event's publication (its envelope's publishedAt) to its emission on Socket.IO. */
export const progressRelayLatency = new Histogram({
  name: 'anime_progress_relay_latency_seconds',
  help: 'Time from a job event being published by a worker to the gateway emitting it on Socket.IO, by event.',
  labelNames: ['event'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [animeRegistry],
});

export const rateLimitRefusals = new Counter({
  name: 'anime_rate_limit_refusals_total',
  help: 'Requests (429) and Socket.IO messages (rate_limited) refused by a limit, by which limit refused them.',
  labelNames: ['limit'] as const,
  registers: [animeRegistry],
});

export const webhookDeliveries = new Counter({
  name: 'anime_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome.',
  labelNames: ['outcome'] as const,
  registers: [animeRegistry],
});

/** The limits a refusal is counted under (`anime_rate_limit_refusals_total{limit}`). */
export type RateLimitName = 'request_rate' | 'generation_cost' | 'queue_depth' | 'queued_per_key' | 'bundle_imports' | 'bodies_in_flight' | 'socket_messages' | 'socket_reads_waiting';

/** The gateway's limits call this for every refusal, naming the limit that refused. */
export function countRateLimitRefusal(limit: RateLimitName): void {
  rateLimitRefusals.inc({ limit });
}

/** How a webhook delivery attempt ended: a 2xx, a failure (retried on its schedule, or given up), a target it may not call. */
export const WEBHOOK_DELIVERY_OUTCOMES = ['delivered', 'failed', 'refused'] as const;

/** Webhook delivery calls this once per attempt. */
export function countWebhookDelivery(outcome: (typeof WEBHOOK_DELIVERY_OUTCOMES)[number]): void {
  webhookDeliveries.inc({ outcome });
}

/** Generations this process recorded failed, by their error code (one of JOB_ERROR_CODES: a bounded set). */
export const generationFailures = new Counter({
  name: 'anime_generation_failures_total',
  help: 'Generations recorded failed by this process, by error code.',
  labelNames: ['code'] as const,
  registers: [animeRegistry],
});

/** A stage calls this once it recorded a generation failed (not when the row was already settled). */
export function countGenerationFailure(code: JobErrorCode): void {
  generationFailures.inc({ code });
}

/** Gateway: Socket.IO connections cut because they did not read what they were sent (limitUnsentPackets). */
export const slowConsumerDisconnects = new Counter({
  name: 'anime_socket_slow_consumer_disconnects_total',
  help: 'Socket.IO connections the gateway disconnected because too many packets waited to be written to them (a client that does not read).',
  registers: [animeRegistry],
});

/** Statements this process sent to PostgreSQL (BEGIN/COMMIT included), read from the pools at scrape time. */
export const dbStatements = new Counter({
  name: 'anime_db_statements_total',
  help: 'SQL statements this process sent to PostgreSQL, transaction control included.',
  registers: [animeRegistry],
  collect() {
    this.reset();
    this.inc(databaseStatements());
  },
});

/** What the process retains: the V8 heap in use after its latest major collection (see watchMajorCollections). */
export const heapAfterMajorGc = new Gauge({
  name: 'anime_heap_after_major_gc_bytes',
  help: 'V8 heap in use right after the latest major (mark-compact) collection: what the process retains, whatever V8 reserves; 0 before the first.',
  registers: [animeRegistry],
  collect() {
    this.set(heapAfterMajorCollection());
  },
});
