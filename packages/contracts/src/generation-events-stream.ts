import { z } from 'zod';
import { JOB_EVENT_NAMES, type JobEventEnvelope } from './job-events';

/**
 * The generation-events stream: a Redis Stream (under the queue prefix) carrying every lifecycle
 * event of every generation with who asked for it (`source`, `requestId`), so a system that puts
 * jobs on generation-requests follows them without polling REST.
 *
 * A stream rather than a BullMQ queue of events: a queue hands each message to one consumer, while
 * every producer (and the webhook dispatcher) must see every event; a stream lets each reader keep
 * its own position (XREAD from an id, or a consumer group with XREADGROUP/XACK), replay what it
 * missed, and is trimmed to a bounded length. Progress ticks are not on it (Socket.IO carries them).
 */
export const generationEventsStream = (queuePrefix: string) => `${queuePrefix}:generation-events`;

/** About how many entries the stream keeps (XADD MAXLEN ~): days of events for a studio, bounded memory. */
export const DEFAULT_GENERATION_EVENTS_MAXLEN = 100_000;

const STREAMED_EVENTS = JOB_EVENT_NAMES.filter((name) => name !== 'job:progress');

/** One stream entry, as its fields read back (XREAD returns flat [field, value, …] string lists). */
export const generationStreamEntrySchema = z.object({
  event: z.enum(STREAMED_EVENTS as [string, ...string[]]).describe('the lifecycle event, as on Socket.IO: job:queued, job:submitted, job:started, job:retrying, job:completed, job:failed, job:canceled'),
  generationId: z.uuid(),
  // At most PostgreSQL's integer (job_events.seq): a larger one, which only a foreign writer can put
  // there, is an unreadable entry (skipped), not one that fails the read it came in for good.
  seq: z.coerce.number().int().positive().max(2_147_483_647).describe('increasing per generation; order and de-duplicate by it'),
  source: z.string().describe('the producer that asked for the generation (api for REST)'),
  requestId: z.string().describe("the producer's idempotency key; empty when it gave none"),
  data: z.string().transform((text) => JSON.parse(text) as Record<string, unknown>).describe('the event payload as JSON (job:completed carries its assets)'),
});
export type GenerationStreamEntry = z.infer<typeof generationStreamEntrySchema>;

/** The fields XADD writes for an envelope, or null for events that are not streamed. */
export function generationStreamEntry(envelope: JobEventEnvelope): string[] | null {
  if (envelope.name === 'job:progress' || !envelope.origin) return null;
  return [
    'event', envelope.name,
    'generationId', envelope.payload.jobId,
    'seq', String(envelope.seq),
    'source', envelope.origin.source,
    'requestId', envelope.origin.requestId ?? '',
    'data', JSON.stringify(envelope.payload),
  ];
}

/** Reads one entry's flat field list (as XREAD returns it). */
export function parseGenerationStreamEntry(fields: string[]): GenerationStreamEntry {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]] = fields[i + 1];
  return generationStreamEntrySchema.parse(record);
}
