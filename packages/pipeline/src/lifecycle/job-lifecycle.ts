import { randomInt } from 'node:crypto';
import { queueForStage, type AssetResource, type GenerationRequestBody, type JobConditioning, type JobError, type JobEventEnvelope, type StageQueueKey, type RenderOutputs, type StoredWorkflow, type AttemptEndCode, type ReferenceUse } from '@anime/contracts';
import { isUniqueViolation, Prisma, type Db } from '@anime/db';
import { recordEvent } from '../job-events';
import { RETRY_TRANSITION, TRANSITIONS, type TransitionName } from './transitions';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** What resolving a character records on a generation. */
export interface Resolution {
  characterId: string;
  characterVersionId: string;
  conditioning: JobConditioning;
}

export interface NewGeneration {
  body: GenerationRequestBody;
  /** The producing system; `requestId` is unique within it. */
  source: string;
  requestId?: string;
  correlationId?: string;
  /** The API key that asked for it over REST (null for queue producers and AUTH_MODE=off). */
  apiKeyId?: string | null;
  id?: string;
  /** Given when the caller already resolved the character (the gateway): the row starts at `resolved`. */
  resolution?: Resolution;
}

export interface Attempt {
  backend: string;
  promptId: string;
  workflow: StoredWorkflow;
  /** Per reference, whether this graph conditions the model with it on this backend. */
  referenceUse?: ReferenceUse;
}

/**
 * The one module that changes a generation's status and stage. Each change applies a transition
 * of the table in transitions.ts as one guarded UPDATE (the WHERE clause is the transition's
 * `from` states), so a replayed or duplicated queue message never moves a job twice; it returns
 * the event to publish, or null (or false) when the guard did not match.
 */
export class JobLifecycle {
  constructor(private readonly db: Db) {}

  /**
   * Writes a new generation with its `job:queued` event, or returns the one its producer already
   * made under the same (source, requestId) — also when two producers race: the unique key decides.
   */
  async create(input: NewGeneration) {
    if (input.requestId) {
      const existing = await this.findByRequest(input.source, input.requestId);
      if (existing) return { job: existing, created: false as const, event: null };
    }
    try {
      return await this.insert(input);
    } catch (error) {
      if (!input.requestId || !isUniqueViolation(error)) throw error;
      const winner = await this.findByRequest(input.source, input.requestId);
      if (!winner) throw error;
      return { job: winner, created: false as const, event: null };
    }
  }

  private findByRequest(source: string, requestId: string) {
    return this.db.generationJob.findUnique({ where: { source_requestId: { source, requestId } } });
  }

  private insert(input: NewGeneration) {
    const { body, resolution } = input;
    // Chosen once and stored in the request, so every retry and replay renders the same image.
    const seed = body.seed ?? randomInt(0, 2 ** 47);
    const request = { ...body, seed };
    return this.db.$transaction(async (tx) => {
      const job = await tx.generationJob.create({
        data: {
          ...(input.id ? { id: input.id } : {}),
          source: input.source,
          requestId: input.requestId,
          correlationId: input.correlationId,
          apiKeyId: input.apiKeyId ?? null,
          status: 'queued',
          stage: resolution ? 'resolved' : 'requested',
          priority: body.priority,
          request: request as object,
          seed: BigInt(seed),
          project: body.project,
          episode: body.episode,
          scene: body.scene,
          shot: body.shot,
          ...(resolution ? resolutionColumns(resolution) : {}),
        },
      });
      const event = await recordEvent(tx, job.id, 'job:queued', { jobId: job.id });
      return { job, created: true as const, event };
    });
  }

  /**
   * Applies one transition (with the columns it sets) if the job is in one of its `from` states
   * (and, with `unlessCancelRequested`, no cancel was asked for meanwhile).
   */
  private async apply(tx: Tx, id: string, name: TransitionName, data: Record<string, unknown> = {}, options: { unlessCancelRequested?: boolean } = {}): Promise<boolean> {
    const transition = TRANSITIONS[name];
    const changed = await tx.generationJob.updateMany({
      where: { id, OR: transition.from.map((s) => ({ status: s.status, stage: s.stage })), ...(options.unlessCancelRequested ? { cancelRequestedAt: null } : {}) },
      data: { status: transition.to.status, ...('stage' in transition.to ? { stage: transition.to.stage } : {}), ...data },
    });
    return changed.count > 0;
  }

  async resolve(id: string, resolution: Resolution): Promise<boolean> {
    return this.db.$transaction((tx) => this.apply(tx, id, 'resolve', resolutionColumns(resolution)));
  }

  /**
   * Records the attempt's prompt id and graph before the prompt is sent, so a crash resumes it;
   * the story gets `job:submitted` (the prompt enters the backend's queue).
   */
  async submit(id: string, attempt: Attempt): Promise<JobEventEnvelope<'job:submitted'> | null> {
    return this.db.$transaction(async (tx) => {
      if (!(await this.apply(tx, id, 'submit', { ...attemptColumns(attempt), startedAt: new Date() }))) return null;
      const number = await this.openAttempt(tx, id, attempt);
      return recordEvent(tx, id, 'job:submitted', { jobId: id, backend: attempt.backend, attempt: number });
    });
  }

  /**
   * Ends the open attempt with `reason` and opens the next one on another backend: the story gets
   * `job:retrying { attempt, reason }` then `job:submitted` for the new attempt (empty when the guard refused).
   */
  async resubmit(id: string, attempt: Attempt, reason: AttemptEndCode): Promise<JobEventEnvelope[]> {
    return this.db.$transaction(async (tx) => {
      if (!(await this.apply(tx, id, 'resubmit', attemptColumns(attempt)))) return [];
      await tx.jobAttempt.updateMany({ where: { jobId: id, finishedAt: null }, data: { finishedAt: new Date(), error: { code: reason, message: attemptEndMessage[reason] } } });
      const number = await this.openAttempt(tx, id, attempt);
      return [
        await recordEvent(tx, id, 'job:retrying', { jobId: id, attempt: number, reason: `${reason}: ${attemptEndMessage[reason]}` }),
        await recordEvent(tx, id, 'job:submitted', { jobId: id, backend: attempt.backend, attempt: number }),
      ];
    });
  }

  private async openAttempt(tx: Tx, id: string, attempt: Attempt): Promise<number> {
    const number = (await tx.jobAttempt.count({ where: { jobId: id } })) + 1;
    await tx.jobAttempt.create({ data: { jobId: id, number, backend: attempt.backend, promptId: attempt.promptId, workflow: attempt.workflow as object } });
    return number;
  }

  /**
   * ComfyUI began executing the open attempt's prompt: its startedAt and `job:started`. Not a
   * change of status or stage; guarded so a replayed or late notice (another attempt opened since,
   * or the job over) records nothing.
   */
  async started(id: string, promptId: string): Promise<JobEventEnvelope<'job:started'> | null> {
    return this.db.$transaction(async (tx) => {
      const open = await tx.jobAttempt.findFirst({ where: { jobId: id, promptId, startedAt: null, finishedAt: null, job: { status: 'running', stage: 'submitted' } } });
      if (!open) return null;
      const marked = await tx.jobAttempt.updateMany({ where: { id: open.id, startedAt: null }, data: { startedAt: new Date() } });
      if (!marked.count) return null;
      return recordEvent(tx, id, 'job:started', { jobId: id, backend: open.backend, attempt: open.number });
    });
  }

  /** Progress is not part of the stored story: only the latest tick is kept, with its seq. */
  async progress(id: string, progress: { value: number; max: number; node: string | null }): Promise<JobEventEnvelope<'job:progress'> | null> {
    // The hot path (every sampler step of every job): one guarded statement, no transaction.
    const rows = await this.db.$queryRaw<{ eventSeq: number }[]>`
      UPDATE generation_jobs
      SET "eventSeq" = "eventSeq" + 1, "progressSeq" = "eventSeq" + 1, "progressValue" = ${progress.value},
          "progressMax" = ${progress.max}, "progressNode" = ${progress.node}, "updatedAt" = timezone('UTC', now())
      WHERE id = ${id}::uuid AND status = 'running' AND stage = 'submitted'
      RETURNING "eventSeq"`;
    if (!rows.length) return null;
    const seq = rows[0].eventSeq;
    return { name: 'job:progress', seq, payload: { jobId: id, ...progress, seq } };
  }

  /** Refused once a cancel was requested: what ComfyUI finished anyway is not filed. */
  async render(id: string, outputs: RenderOutputs): Promise<boolean> {
    return this.db.$transaction(async (tx) => {
      if (!(await this.apply(tx, id, 'render', { outputs: outputs as object }, { unlessCancelRequested: true }))) return false;
      await tx.jobAttempt.updateMany({ where: { jobId: id, finishedAt: null }, data: { finishedAt: new Date() } });
      return true;
    });
  }

  async file(id: string, assets: AssetResource[]): Promise<JobEventEnvelope<'job:completed'> | null> {
    return this.db.$transaction(async (tx) => {
      if (!(await this.apply(tx, id, 'file', { finishedAt: new Date() }))) return null;
      return recordEvent(tx, id, 'job:completed', { jobId: id, assets });
    });
  }

  async fail(id: string, error: JobError): Promise<JobEventEnvelope<'job:failed'> | null> {
    return this.db.$transaction(async (tx) => {
      const columns = {
        finishedAt: new Date(),
        errorCode: error.code,
        errorMessage: error.message,
        errorDetails: error.details === undefined ? undefined : (error.details as object),
      };
      if (!(await this.apply(tx, id, 'fail', columns))) return null;
      await tx.jobAttempt.updateMany({ where: { jobId: id, finishedAt: null }, data: { finishedAt: new Date(), error: { code: error.code, message: error.message } } });
      return recordEvent(tx, id, 'job:failed', { jobId: id, error: { code: error.code, message: error.message } });
    });
  }

  async cancel(id: string): Promise<JobEventEnvelope<'job:canceled'> | null> {
    return this.db.$transaction(async (tx) => {
      if (!(await this.apply(tx, id, 'cancel', { finishedAt: new Date(), errorCode: 'canceled', errorMessage: 'canceled' }))) return null;
      await tx.jobAttempt.updateMany({ where: { jobId: id, finishedAt: null }, data: { finishedAt: new Date(), error: { code: 'canceled', message: 'canceled' } } });
      return recordEvent(tx, id, 'job:canceled', { jobId: id });
    });
  }

  /**
   * Records that a cancel was asked for while the prompt is in a backend (running, submitted): the
   * orchestrator driving it applies `cancel` once the backend let go. True when it is recorded
   * (again: repeating is harmless); false when the job is no longer there.
   */
  async requestCancel(id: string): Promise<boolean> {
    const changed = await this.db.$executeRaw`
      UPDATE generation_jobs SET "cancelRequestedAt" = COALESCE("cancelRequestedAt", timezone('UTC', now())), "updatedAt" = timezone('UTC', now())
      WHERE id = ${id}::uuid AND status = 'running' AND stage = 'submitted'`;
    return changed > 0;
  }

  /** Re-opens a failed generation at the stage `queue` runs, clearing its error. */
  async retryStage(id: string, queue: StageQueueKey, reason: string): Promise<JobEventEnvelope<'job:retrying'> | null> {
    return this.db.$transaction((tx) => this.reopen(tx, id, queue, reason));
  }

  /**
   * Runs a failed or canceled generation again from the stage it stopped at, as a new attempt
   * (REST retry); `newSeed` replaces the recorded seed, else the image is rendered with the same one.
   */
  async retry(id: string, options: { reason: string; newSeed?: boolean }): Promise<JobEventEnvelope<'job:retrying'> | null> {
    return this.db.$transaction(async (tx) => {
      const row = await tx.generationJob.findUnique({ where: { id }, select: { stage: true, request: true } });
      const queue = row && queueForStage(row.stage);
      if (!row || !queue) return null;
      const seed = options.newSeed ? randomInt(0, 2 ** 47) : undefined;
      const reseeded = seed === undefined ? {} : { seed: BigInt(seed), request: { ...(row.request as object), seed } };
      return this.reopen(tx, id, queue, options.reason, reseeded);
    });
  }

  private async reopen(tx: Tx, id: string, queue: StageQueueKey, reason: string, data: Record<string, unknown> = {}) {
    const cleared = { finishedAt: null, errorCode: null, errorMessage: null, errorDetails: Prisma.DbNull, cancelRequestedAt: null };
    const progress = queue === 'assetFiling' ? {} : { progressValue: null, progressMax: null, progressNode: null };
    if (!(await this.apply(tx, id, RETRY_TRANSITION[queue], { ...cleared, ...progress, ...data }))) return null;
    // Filing again reuses the recorded render; the other stages lead to a new render attempt.
    const attempt = (await tx.jobAttempt.count({ where: { jobId: id } })) + (queue === 'assetFiling' ? 0 : 1);
    return recordEvent(tx, id, 'job:retrying', { jobId: id, reason, attempt });
  }
}

const resolutionColumns = (r: Resolution) => ({
  characterId: r.characterId,
  characterVersionId: r.characterVersionId,
  outfit: r.conditioning.outfit,
  conditioning: r.conditioning as object,
  resolvedAt: new Date(),
});

const attemptColumns = (a: Attempt) => ({ backend: a.backend, promptId: a.promptId, workflow: a.workflow as object, referenceUse: a.referenceUse ?? Prisma.DbNull });

const attemptEndMessage: Record<AttemptEndCode, string> = {
  backend_removed: 'the backend is no longer configured',
  prompt_lost: 'the backend lost the prompt',
  backend_lost: 'the backend went down while holding the prompt',
  backend_error: 'the backend failed the prompt with a transient fault (e.g. a 5xx); tried again on another capable backend when there is one',
};
