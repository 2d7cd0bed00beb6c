import type { Redis } from 'ioredis';
import { jobEventsChannel, type JobEventEnvelope, type JobEventName, type JobEventPayloads } from '@anime/contracts';
import type { Db } from '@anime/db';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** Takes the job's next event number; call inside the transaction that changes the job. */
export async function nextSeq(tx: Tx, jobId: string): Promise<number> {
  const rows = await tx.$queryRaw<{ eventSeq: number }[]>`
    UPDATE generation_jobs SET "eventSeq" = "eventSeq" + 1 WHERE id = ${jobId}::uuid RETURNING "eventSeq"`;
  if (!rows.length) throw new Error(`generation ${jobId} does not exist`);
  return rows[0].eventSeq;
}

/** Records a lifecycle event in the job's story (replayed to late subscribers). */
export async function recordEvent<N extends JobEventName>(tx: Tx, jobId: string, name: N, payload: JobEventPayloads[N]): Promise<JobEventEnvelope<N>> {
  const seq = await nextSeq(tx, jobId);
  const full = { ...payload, seq } as JobEventPayloads[N] & { seq: number };
  await tx.jobEvent.create({ data: { jobId, seq, type: name, payload: full as object } });
  return { name, seq, payload: full };
}

/**
 * Live delivery to gateways over Redis pub/sub. Best effort by design: PostgreSQL holds the
 * story, and a client that missed a message gets it replayed when it (re)subscribes.
 */
export class JobEventPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
  ) {}

  async publish(envelope: JobEventEnvelope): Promise<void> {
    await this.redis.publish(jobEventsChannel(this.queuePrefix), JSON.stringify(envelope)).catch(() => undefined);
  }

  async publishAll(envelopes: (JobEventEnvelope | null | undefined)[]): Promise<void> {
    for (const e of envelopes) if (e) await this.publish(e);
  }
}
