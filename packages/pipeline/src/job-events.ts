import type { Redis } from 'ioredis';
import {
  DEFAULT_GENERATION_EVENTS_MAXLEN,
  generationEventsStream,
  generationStreamEntry,
  jobEventsChannel,
  type JobEventEnvelope,
} from '@anime/contracts';

/**
 * Live delivery: to gateways over Redis pub/sub, and each lifecycle event (not progress ticks) to
 * producers on the generation-events stream, in one round trip. Best effort by design: PostgreSQL
 * holds the story; a client that missed a message gets it replayed when it (re)subscribes, and a
 * producer can always read the generation over REST by its source and requestId.
 */
export class JobEventPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    /** GENERATION_EVENTS_MAXLEN: about how many entries the generation-events stream keeps (older ones are trimmed). */
    private readonly streamMaxLength = DEFAULT_GENERATION_EVENTS_MAXLEN,
  ) {}

  async publish(envelope: JobEventEnvelope): Promise<void> {
    await this.publishAll([envelope]);
  }

  /**
   * Several events (a transition's, in their order), every command written before any answer is
   * awaited: one connection runs them in the order they were sent, in about one round trip. Not an
   * ioredis pipeline(): building one copies every command the connection defines (BullMQ's Lua
   * scripts included), which the profile showed costing more than the commands themselves.
   */
  async publishAll(envelopes: (JobEventEnvelope | null | undefined)[]): Promise<void> {
    const sent: Promise<unknown>[] = [];
    const publishedAt = Date.now();
    // ioredis writes each command to its socket at once, a system call each: corked, they leave in one.
    const socket = (this.redis as unknown as { stream?: { cork?(): void; uncork?(): void } }).stream;
    socket?.cork?.();
    try {
      for (const envelope of envelopes) {
        if (!envelope) continue;
        sent.push(this.redis.publish(jobEventsChannel(this.queuePrefix), JSON.stringify({ ...envelope, publishedAt })));
        const entry = generationStreamEntry(envelope);
        if (entry) sent.push(this.redis.xadd(generationEventsStream(this.queuePrefix), 'MAXLEN', '~', this.streamMaxLength, '*', ...entry));
      }
    } finally {
      socket?.uncork?.();
    }
    await Promise.all(sent.map((p) => p.catch(() => undefined)));
  }
}
