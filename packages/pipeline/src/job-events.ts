import type { Redis } from 'ioredis';
import {
  DEFAULT_GENERATION_EVENTS_MAXLEN,
  generationEventsStream,
  generationStreamEntry,
  jobEventsChannel,
  type JobEventEnvelope,
  type JobEventName,
  type JobEventPayloads,
} from '@anime/contracts';
import type { Db } from '@anime/db';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** Takes the job's next event number, and who asked for the job; call inside the transaction that changes the job. */
export async function nextSeq(tx: Tx, jobId: string): Promise<{ seq: number; source: string; requestId: string | null }> {
  const rows = await tx.$queryRaw<{ eventSeq: number; source: string; requestId: string | null }[]>`
    UPDATE generation_jobs SET "eventSeq" = "eventSeq" + 1 WHERE id = ${jobId}::uuid RETURNING "eventSeq", source, "requestId"`;
  if (!rows.length) throw new Error(`generation ${jobId} does not exist`);
  return { seq: rows[0].eventSeq, source: rows[0].source, requestId: rows[0].requestId };
}

/** Records a lifecycle event in the job's story (replayed to late subscribers). */
export async function recordEvent<N extends JobEventName>(tx: Tx, jobId: string, name: N, payload: JobEventPayloads[N]): Promise<JobEventEnvelope<N>> {
  const { seq, source, requestId } = await nextSeq(tx, jobId);
  const full = { ...payload, seq } as JobEventPayloads[N] & { seq: number };
  await tx.jobEvent.create({ data: { jobId, seq, type: name, payload: full as object } });
  return { name, seq, payload: full, origin: { source, requestId } };
}

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
    const batch = this.redis.pipeline().publish(jobEventsChannel(this.queuePrefix), JSON.stringify({ ...envelope, publishedAt: Date.now() }));
    const entry = generationStreamEntry(envelope);
    if (entry) batch.xadd(generationEventsStream(this.queuePrefix), 'MAXLEN', '~', this.streamMaxLength, '*', ...entry);
    await batch.exec().catch(() => undefined);
  }

  async publishAll(envelopes: (JobEventEnvelope | null | undefined)[]): Promise<void> {
    for (const e of envelopes) if (e) await this.publish(e);
  }
}
