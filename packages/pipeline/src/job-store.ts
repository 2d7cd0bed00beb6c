import { randomInt } from 'node:crypto';
import type { AssetResource, GenerationRequestBody, JobError } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { JobEventEnvelope } from '@anime/contracts';
import { recordEvent } from './job-events';

/**
 * Every state change of a generation is a guarded update: it only applies from the expected
 * state, so a replayed or duplicated queue message can never complete (or fail) a job twice.
 * Each method returns the event to publish, or null when the guard did not match.
 */
export class JobStore {
  constructor(private readonly db: Db) {}

  /**
   * Writes a new generation as `queued` with its first event, in one transaction. The seed is
   * chosen here when the request has none, and recorded in the request so a replay is exact.
   */
  async createQueued(input: {
    body: GenerationRequestBody;
    id?: string;
    requestId?: string;
    correlationId?: string;
    characterId?: string;
  }) {
    const { body } = input;
    const seed = body.seed ?? randomInt(0, 2 ** 47);
    const request = { ...body, seed };
    return this.db.$transaction(async (tx) => {
      const job = await tx.generationJob.create({
        data: {
          ...(input.id ? { id: input.id } : {}),
          requestId: input.requestId,
          correlationId: input.correlationId,
          characterId: input.characterId,
          status: 'queued',
          priority: body.priority,
          request: request as object,
          seed: BigInt(seed),
          project: body.project,
          episode: body.episode,
          scene: body.scene,
          shot: body.shot,
        },
      });
      const event = await recordEvent(tx, job.id, 'job:queued', { jobId: job.id });
      return { job, event, request };
    });
  }

  async markStarted(jobId: string, attempt: { backend: string; promptId: string }): Promise<JobEventEnvelope<'job:started'> | null> {
    return this.db.$transaction(async (tx) => {
      const changed = await tx.generationJob.updateMany({
        where: { id: jobId, status: 'queued' },
        data: { status: 'running', startedAt: new Date(), backend: attempt.backend, promptId: attempt.promptId },
      });
      if (!changed.count) return null;
      const number = (await tx.jobAttempt.count({ where: { jobId } })) + 1;
      await tx.jobAttempt.create({ data: { jobId, number, backend: attempt.backend, promptId: attempt.promptId } });
      return recordEvent(tx, jobId, 'job:started', { jobId, backend: attempt.backend });
    });
  }

  /** Progress is not part of the stored story: only the latest tick is kept, with its seq. */
  async recordProgress(jobId: string, progress: { value: number; max: number; node: string | null }): Promise<JobEventEnvelope<'job:progress'> | null> {
    // The hot path (every sampler step of every job): one guarded statement, no transaction.
    const rows = await this.db.$queryRaw<{ eventSeq: number }[]>`
      UPDATE generation_jobs
      SET "eventSeq" = "eventSeq" + 1, "progressSeq" = "eventSeq" + 1, "progressValue" = ${progress.value},
          "progressMax" = ${progress.max}, "progressNode" = ${progress.node}, "updatedAt" = timezone('UTC', now())
      WHERE id = ${jobId}::uuid AND status = 'running'
      RETURNING "eventSeq"`;
    if (!rows.length) return null;
    const seq = rows[0].eventSeq;
    return { name: 'job:progress', seq, payload: { jobId, ...progress, seq } };
  }

  /** The prompt finished in ComfyUI: its outputs are recorded before filing starts. */
  async recordOutputs(jobId: string, outputs: unknown): Promise<boolean> {
    const changed = await this.db.generationJob.updateMany({
      where: { id: jobId, status: 'running' },
      data: { outputs: outputs as object },
    });
    if (changed.count) {
      await this.db.jobAttempt.updateMany({ where: { jobId, finishedAt: null }, data: { finishedAt: new Date() } });
    }
    return changed.count > 0;
  }

  async markCompleted(jobId: string, assets: AssetResource[]): Promise<JobEventEnvelope<'job:completed'> | null> {
    return this.db.$transaction(async (tx) => {
      const changed = await tx.generationJob.updateMany({
        where: { id: jobId, status: 'running' },
        data: { status: 'completed', finishedAt: new Date() },
      });
      if (!changed.count) return null;
      return recordEvent(tx, jobId, 'job:completed', { jobId, assets });
    });
  }

  async markFailed(jobId: string, error: JobError, from: ('queued' | 'running')[] = ['queued', 'running']): Promise<JobEventEnvelope<'job:failed'> | null> {
    return this.db.$transaction(async (tx) => {
      const changed = await tx.generationJob.updateMany({
        where: { id: jobId, status: { in: from } },
        data: {
          status: 'failed',
          finishedAt: new Date(),
          errorCode: error.code,
          errorMessage: error.message,
          errorDetails: error.details === undefined ? undefined : (error.details as object),
        },
      });
      if (!changed.count) return null;
      await tx.jobAttempt.updateMany({
        where: { jobId, finishedAt: null },
        data: { finishedAt: new Date(), error: { code: error.code, message: error.message } },
      });
      return recordEvent(tx, jobId, 'job:failed', { jobId, error: { code: error.code, message: error.message } });
    });
  }
}
