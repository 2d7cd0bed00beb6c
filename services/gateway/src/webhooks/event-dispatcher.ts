import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { generationEventsStream, JOB_EVENT_NAMES, parseGenerationStreamEntry, WEBHOOK_TYPE_OF_EVENT, type GenerationStreamEntry } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { endpointsForEvent, type PipelineQueues } from '@anime/pipeline';


// Streamed lifecycle events that no webhook type follows.
const NO_WEBHOOK_EVENTS = new Set<string>(JOB_EVENT_NAMES.filter((name) => !WEBHOOK_TYPE_OF_EVENT[name]));

/** The consumer group of every gateway on the generation-events stream. */
export const WEBHOOK_GROUP = 'webhooks';
const BATCH = 100;
const BLOCK_MS = 2_000;
/** An entry read by a gateway that died before XACK is taken over after this long. */
const CLAIM_IDLE_MS = 30_000;

export interface DispatcherDeps {
  db: Db;
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  redis: Redis;
  queues: PipelineQueues;
  queuePrefix: string;
  log: Logger;
}

/**
 * Turns terminal lifecycle events into webhook-deliveries jobs. It reads the generation-events stream
 * in a consumer group: gateways share the work, and an entry is acknowledged (XACK) only once its jobs
 * are enqueued, so a gateway stopped mid-way loses nothing; another takes its pending entries over
 * (XAUTOCLAIM). Job ids make a second enqueue of one event a no-op.
 */
export function startEventDispatcher(deps: DispatcherDeps): { stop(): Promise<void> } {
  const stream = generationEventsStream(deps.queuePrefix);
  const consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  let stopping = false;
  let lastClaim = 0;

  const ensureGroup = () => deps.redis.xgroup('CREATE', stream, WEBHOOK_GROUP, '$', 'MKSTREAM').catch((e: Error) => {
    if (!e.message.includes('BUSYGROUP')) throw e;
  });

  /** Enqueues the entry's deliveries; says whether there were any (the caller acknowledges the entry). */
  const handle = async (id: string, fields: string[]): Promise<boolean> => {
    // Most entries are events no webhook is about (queued, started, …): skipped unparsed.
    const event = fields[fields.indexOf('event') + 1];
    if (NO_WEBHOOK_EVENTS.has(event)) return false;
    let entry: GenerationStreamEntry | null = null;
    try {
      entry = parseGenerationStreamEntry(fields);
    } catch {
      deps.log.warn('webhooks: unreadable generation-events entry skipped', { id });
    }
    const type = entry ? WEBHOOK_TYPE_OF_EVENT[entry.event] : undefined;
    if (entry && type) {
      const endpoints = (await endpointsForEvent(deps.db, entry.generationId, type)) ?? [];
      for (const endpointId of endpoints) {
        await deps.queues.enqueue('webhookDeliveries', { schemaVersion: 1, endpointId, generationId: entry.generationId, eventType: type, seq: entry.seq });
      }
      if (endpoints.length) deps.log.info('webhooks: event dispatched', { generationId: entry.generationId, type, endpoints: endpoints.length });
      return endpoints.length > 0;
    }
    return false;
  };

  // An entry that enqueued deliveries is acknowledged at once; those that enqueued nothing are
  // acknowledged together (one XACK for many). One that failed, and those after it, are not.
  const handleAll = async (entries: [string, string[]][]) => {
    let handled: string[] = [];
    const ack = async () => {
      if (!handled.length) return;
      const ids = handled;
      handled = [];
      await deps.redis.xack(stream, WEBHOOK_GROUP, ...ids);
    };
    try {
      for (const [id, fields] of entries) {
        if (stopping) return;
        const dispatched = await handle(id, fields);
        handled.push(id);
        if (dispatched) await ack();
      }
    } finally {
      await ack();
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
        }
        const read = (await deps.redis.xreadgroup('GROUP', WEBHOOK_GROUP, consumer, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null;
        if (read) await handleAll(read[0][1]);
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
      deps.redis.disconnect();
      await running;
    },
  };
}
