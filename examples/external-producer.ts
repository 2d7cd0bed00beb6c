/**
 * An external system producing generations straight onto the queue, with plain `bullmq` and
 * `ioredis` (none of this project's packages), and following each one on the generation-events
 * stream instead of polling REST.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 QUEUE_PREFIX=bull pnpm exec tsx examples/external-producer.ts
 *
 * The contract (README, "For systems that produce onto the queues"):
 * - queue `generation-requests` under QUEUE_PREFIX, job name `resolveCharacter`;
 * - payload: the REST body plus `schemaVersion: 1`, your `source` and a `requestId` unique within it
 *   (JSON Schema: GET /api/v1/schemas/generation-request); the same (source, requestId) again is
 *   the same generation, so resending after a crash is safe;
 * - the outcome: entries on the Redis Stream `<QUEUE_PREFIX>:generation-events` with your `source`
 *   and `requestId`; `job:completed` carries the assets. A message the consumer refuses (invalid
 *   payload) never creates a generation: its queue job fails at once, unretried, with the reason,
 *   which QueueEvents reports.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

const QUEUE = 'generation-requests';
const JOB_NAME = 'resolveCharacter';
const STREAM = (prefix: string) => `${prefix}:generation-events`;
const TERMINAL = new Set(['job:completed', 'job:failed', 'job:canceled']);

export interface StreamEvent {
  event: string;
  generationId: string;
  seq: number;
  source: string;
  requestId: string;
  data: Record<string, any>;
}

export interface ProducerOptions {
  redisUrl: string;
  prefix: string;
  source: string;
}

/**
 * The BullMQ job id of one (source, requestId): the same pair always gives the same id, so adding it
 * again is a no-op, and two pairs never share one. Each part is percent-encoded and joined by `/`
 * (which the encoding never leaves in a part): a plain `${source}-${requestId}` would give
 * ('render', 'farm-1') and ('render-farm', '1') one id, the second add silently dropped, and BullMQ
 * refuses a `:` in a job id, which a source or a requestId may hold.
 */
export const jobIdOf = (source: string, requestId: string) => `${encodeURIComponent(source)}/${encodeURIComponent(requestId)}`;

/** Puts one request on the queue; resolves with its queue job id. */
export async function submit(queue: Queue, source: string, requestId: string, request: Record<string, unknown>): Promise<string> {
  const job = await queue.add(JOB_NAME, { schemaVersion: 1, source, requestId, ...request }, { jobId: jobIdOf(source, requestId) });
  return job.id!;
}

/**
 * Reads the stream from `fromId` until every request id in `pending` has its terminal event,
 * calling `onEvent` for each event of this source. Returns the terminal event of each request.
 */
export async function follow(
  reader: Redis,
  prefix: string,
  source: string,
  pending: Set<string>,
  options: { fromId?: string; timeoutMs?: number; onEvent?: (event: StreamEvent) => void } = {},
): Promise<Map<string, StreamEvent>> {
  const ends = new Map<string, StreamEvent>();
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let lastId = options.fromId ?? '0';
  while (ends.size < pending.size) {
    if (Date.now() > deadline) throw new Error(`no outcome for ${[...pending].filter((id) => !ends.has(id)).join(', ')}`);
    const reply = (await reader.xread('COUNT', 500, 'BLOCK', 1_000, 'STREAMS', STREAM(prefix), lastId)) as [string, [string, string[]][]][] | null;
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        lastId = id;
        const record: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
        if (record.source !== source || !pending.has(record.requestId)) continue;
        const event: StreamEvent = { event: record.event, generationId: record.generationId, seq: Number(record.seq), source: record.source, requestId: record.requestId, data: JSON.parse(record.data) };
        options.onEvent?.(event);
        if (TERMINAL.has(event.event)) ends.set(event.requestId, event);
      }
    }
  }
  return ends;
}

/** A refused message (invalid payload): its queue job fails at once with the consumer's reason. */
export function waitForRefusal(events: QueueEvents, jobId: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job ${jobId} neither failed nor completed`)), timeoutMs);
    events.on('failed', ({ jobId: id, failedReason }) => {
      if (id !== jobId) return;
      clearTimeout(timer);
      resolve(failedReason);
    });
    events.on('completed', ({ jobId: id }) => {
      if (id !== jobId) return;
      clearTimeout(timer);
      reject(new Error(`job ${jobId} was accepted`));
    });
  });
}

async function main(): Promise<void> {
  const options: ProducerOptions = { redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: process.env.QUEUE_PREFIX ?? 'bull', source: 'example-producer' };
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const reader = new Redis(options.redisUrl);
  const queue = new Queue(QUEUE, { connection, prefix: options.prefix });
  try {
    // Read from "now": the stream's last id before submitting, so nothing of ours is missed.
    const last = (await reader.xrevrange(STREAM(options.prefix), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
    const requestId = randomUUID();
    await submit(queue, options.source, requestId, { character: 'kai-nakamura', prompt: 'standing on a rooftop at dusk', width: 512, height: 512 });
    console.log(`submitted ${options.source}/${requestId}`);
    const ends = await follow(reader, options.prefix, options.source, new Set([requestId]), {
      fromId: last,
      onEvent: (e) => console.log(`${e.event} seq ${e.seq}${e.event === 'job:failed' ? `: ${e.data.error?.message}` : ''}`),
    });
    const end = ends.get(requestId)!;
    if (end.event === 'job:completed') for (const asset of end.data.assets) console.log(`filed ${asset.path} (sha256 ${asset.sha256})`);
    process.exitCode = end.event === 'job:completed' ? 0 : 1;
  } finally {
    await queue.close();
    connection.disconnect();
    reader.disconnect();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`external-producer: ${(error as Error).message}`);
    process.exit(1);
  });
}
