import { hostname } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { generationEventsStream, JOB_EVENT_NAMES, parseGenerationStreamEntry, WEBHOOK_TYPE_OF_EVENT, type GenerationStreamEntry } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { bounded, type PipelineQueues, type WebhookEvent } from '@anime/pipeline';
import { dispatchEvents, type DispatchEvent } from './webhook-outbox';


// Streamed lifecycle events that no webhook type follows.
const NO_WEBHOOK_EVENTS = new Set<string>(JOB_EVENT_NAMES.filter((name) => !WEBHOOK_TYPE_OF_EVENT[name]));

/** The consumer group of every gateway on the generation-events stream. */
export const WEBHOOK_GROUP = 'webhooks';
const BATCH = 100;
const BLOCK_MS = 2_000;
/** After a short read, the dispatcher waits this long before the next (see the loop). */
const COALESCE_MS = 50;
/** An entry read by a gateway that died before XACK is taken over after this long. */
const CLAIM_IDLE_MS = 30_000;
/**
 * How long a stop waits for the loop. A command issued while Redis is away is never settled by
 * ioredis's `disconnect()` (its reconnection is cancelled, its queue left as is), so the loop may
 * never end; what it had read and not acknowledged is taken over by another gateway (XAUTOCLAIM).
 */
const STOP_WAIT_MS = 2_000;
/**
 * A consumer of the group idle this long that holds no entry is deleted: else every gateway ever
 * started (each start names a new consumer) stayed in the group for good. It is mostly a gateway
 * gone; a live one that was handed nothing that long (Redis before 7.2 counts only reads that
 * returned entries) is made again by Redis when its blocked read is next served, and, holding
 * nothing, loses nothing.
 */
export const FORGET_CONSUMER_IDLE_MS = 10 * 60_000;
/** Deletes the consumer only if it holds no entry, in one step: an entry handed to it meanwhile is never orphaned. */
const DELETE_IF_HOLDS_NOTHING = `if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])`;

export interface DispatcherDeps {
  db: Db;
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: Redis;
  queues: PipelineQueues;
  queuePrefix: string;
  log: Logger;
  /** FORGET_CONSUMER_IDLE_MS unless given (tests). */
  forgetConsumerIdleMs?: number;
}

/**
 * Turns terminal lifecycle events into webhook messages (PostgreSQL) and webhook-deliveries jobs. It
 * reads the generation-events stream in a consumer group: gateways share the work, and an entry is
 * acknowledged (XACK) only once its messages are recorded and jobs enqueued, so a gateway stopped
 * mid-way loses nothing; another takes its pending entries over (XAUTOCLAIM). Job ids make a second
 * enqueue of one event a no-op. The stream is the fast path only: an entry Redis lost is found by the
 * recovery sweep in job_events (webhook-outbox.ts).
 */
export function startEventDispatcher(deps: DispatcherDeps): { stop(): Promise<void> } {
  const stream = generationEventsStream(deps.queuePrefix);
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let stopping = false;
  let lastClaim = 0;
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const ensureGroup = () => deps.redis.xgroup('CREATE', stream, WEBHOOK_GROUP, '$', 'MKSTREAM').catch((e: Error) => {
    if (!e.message.includes('BUSYGROUP')) throw e;
  });

  /** The event a webhook type follows in this entry, else null (most entries: queued, started, …, skipped unparsed). */
  const webhookEvent = (id: string, fields: string[]): (WebhookEvent & { seq: number }) | null => {
    const event = fields[fields.indexOf('event') + 1];
    if (NO_WEBHOOK_EVENTS.has(event)) return null;
    let entry: GenerationStreamEntry | null = null;
    try {
      entry = parseGenerationStreamEntry(fields);
    } catch {
      deps.log.warn('webhooks: unreadable generation-events entry skipped', { id });
    }
    const type = entry ? WEBHOOK_TYPE_OF_EVENT[entry.event] : undefined;
    return entry && type ? { generationId: entry.generationId, type, seq: entry.seq } : null;
  };

  // The messages of every webhook event of a read are recorded in PostgreSQL in one statement and
  // their jobs enqueued (dispatchEvents), then the whole read is acknowledged in one XACK. A failure
  // acknowledges nothing: the entries are read again (XAUTOCLAIM), and what was recorded meanwhile
  // the recovery sweep enqueues anyway.
  const handleAll = async (entries: [string, string[]][]) => {
    if (!entries.length) return;
    const events = entries.map(([id, fields]) => webhookEvent(id, fields)).filter((e): e is DispatchEvent => e !== null);
    for (const { event, endpoints } of await dispatchEvents({ db: deps.db, queues: deps.queues, log: deps.log }, events)) {
      if (endpoints.length) deps.log.info('webhooks: event dispatched', { generationId: event.generationId, type: event.type, endpoints: endpoints.length });
    }
    await deps.redis.xack(stream, WEBHOOK_GROUP, ...entries.map(([id]) => id));
  };

  /** Deletes idle consumers holding nothing (see FORGET_CONSUMER_IDLE_MS); a dead gateway's entries are taken over by XAUTOCLAIM first. */
  const forgetGoneConsumers = async () => {
    const forgetAfter = deps.forgetConsumerIdleMs ?? FORGET_CONSUMER_IDLE_MS;
    const consumers = (await deps.redis.xinfo('CONSUMERS', stream, WEBHOOK_GROUP)) as unknown[][];
    for (const fields of consumers) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) info[String(fields[i])] = fields[i + 1];
      const name = String(info.name);
      if (name === consumer || Number(info.pending) !== 0 || !(Number(info.idle) >= forgetAfter)) continue;
      await deps.redis.eval(DELETE_IF_HOLDS_NOTHING, 1, stream, WEBHOOK_GROUP, name);
      deps.log.info('webhooks: idle consumer removed from the group', { consumer: name, idleMs: Number(info.idle) });
    }
  };

  const loop = async () => {
    await ensureGroup();
    while (!stopping) {
      try {
        if (Date.now() - lastClaim > CLAIM_IDLE_MS) {
          lastClaim = Date.now();
          const claimed = (await deps.redis.xautoclaim(stream, WEBHOOK_GROUP, consumer, CLAIM_IDLE_MS, '0-0', 'COUNT', BATCH)) as [string, [string, string[]][]];
          await handleAll(claimed[1] ?? []);
          await forgetGoneConsumers();
        }
        const read = (await deps.redis.xreadgroup('GROUP', WEBHOOK_GROUP, consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
        const entries = read?.[0][1] ?? [];
        // The live relay of the same events (pub/sub) often arrives in the same read of the sockets:
        // it goes first, and the webhooks wait one turn of the event loop, which they can spare.
        if (entries.length) await nextTurn();
        await handleAll(entries);
        // A short read: entries come in ones and twos under load, each read and XACK a round trip;
        // waiting a moment lets the next read take many at once (webhooks are not that urgent).
        if (entries.length && entries.length < BATCH) await pause(COALESCE_MS);
      } catch (error) {
        if (stopping) return;
        const message = (error as Error).message;
        // The stream was deleted (and its group with it): make them again.
        if (message.includes('NOGROUP')) await ensureGroup().catch(() => undefined);
        else {
          deps.log.warn('webhooks: dispatcher error; unacknowledged entries are retried', { error: message });
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }
    }
  };
  const running = loop().catch((error) => deps.log.error('webhooks: dispatcher stopped', { error: (error as Error).message }));

  return {
    stop: async () => {
      stopping = true;
      wake();
      deps.redis.disconnect();
      await bounded(running, STOP_WAIT_MS);
    },
  };
}
