import { randomInt, randomUUID } from 'node:crypto';
import { queueForStage, type AssetResource, type GenerationRequestBody, type JobConditioning, type JobError, type JobEventEnvelope, type JobEventName, type JobEventPayloads, type StageQueueKey, type RenderOutputs, type StoredWorkflow, type AttemptEndCode, type ReferenceUse } from '@anime/contracts';
import { inLockedTransaction, isUniqueViolation, oneWaiterPerLock, readRows, runStatement, type Asset, type Db, type GenerationJob, type Statement } from '@anime/db';
import { FilingFencedError } from './filing-fence';
import { json, runNumbering } from './lifecycle-sql';
import type { GenerationRow } from './load-generation';

export { MAX_GENERATION_EVENTS } from './lifecycle-statements';
import { ACTIVE_OF, CANCEL, CANCEL_AT_ONCE, CLAIM_FILING, CLAIM_FILING_AND_LOAD, CREATE, CREATE_WITHIN_CAP, FAIL, OWNER_OF, FILE, FILE_WITH_ASSETS, FIND_BY_REQUEST, PROGRESS, PROGRESS_LATEST, RENDER, REOPEN, REQUEST_CANCEL, RERENDER, RESOLVE, RESUBMIT, STAGE_OF, STARTED, STARTED_WITH_PROGRESS, SUBMIT, WITHDRAW_SUBMITTED, CREATED_JOB_FIELDS } from './lifecycle-statements';

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
 * What creating a generation returns of its row: what a producer needs to hand it on (enqueueStage)
 * and to answer. Not the whole row: reading back the request and conditioning JSON it just wrote
 * cost a producer more than the insert.
 */
export type CreatedJob = Pick<GenerationJob, (typeof CREATED_JOB_FIELDS)[number]>;

/** A new generation with its first event, or the one its producer already made. */
export type Created = { job: CreatedJob; created: true; event: JobEventEnvelope<'job:queued'> } | { job: CreatedJob; created: false; event: null };

/** What a statement that records an event returns: the seq it took and who asked for the job. */
interface Recorded {
  seq: number;
  source: string;
  requestId: string | null;
}

const envelope = <N extends JobEventName>(name: N, row: Recorded, payload: JobEventPayloads[N]): JobEventEnvelope<N> => ({
  name,
  seq: row.seq,
  payload: { ...payload, seq: row.seq } as JobEventPayloads[N] & { seq: number },
  origin: { source: row.source, requestId: row.requestId },
});

/**
 * The one module that changes a generation's status and stage. Each change applies a transition
 * of the table in transitions.ts as one statement (lifecycle-statements.ts) whose guarded UPDATE's
 * WHERE clause is the transition's `from` states, so a replayed or duplicated queue message never
 * moves a job twice; it returns the event to publish, or null (or false) when the guard did not match.
 */
export class JobLifecycle {
  constructor(private readonly db: Db) {}

  /** Statements on the pool: reads retried once on a dropped connection (readRows), writes not. */
  private readonly onPool = {
    read: <Row>(statement: Statement, values: unknown[]) => readRows<Row>(this.db, statement, values),
    write: <Row>(statement: Statement, values: unknown[]) => runStatement<Row>(this.db, statement, values),
  };

  /**
   * Writes a new generation with its `job:queued` event, or returns the one its producer already
   * made under the same (source, requestId) — also when two producers race: the unique key decides.
   */
  async create(input: NewGeneration): Promise<Created> {
    let refused: unknown;
    try {
      // ON CONFLICT (source, requestId) DO NOTHING: a duplicate, even one committed by a racing producer meanwhile, inserts nothing.
      const [job] = await runStatement<CreatedJob>(this.db, CREATE, this.insertValues(input));
      if (job) return { job, created: true as const, event: envelope('job:queued', { seq: 1, source: job.source, requestId: job.requestId }, { jobId: job.id }) };
    } catch (error) {
      if (!input.requestId || !isUniqueViolation(error)) throw error;
      refused = error;
    }
    const winner = input.requestId ? (await readRows<CreatedJob>(this.db, FIND_BY_REQUEST, [input.source, input.requestId]))[0] : undefined;
    if (!winner) throw refused ?? new Error(`generation ${input.source}/${input.requestId} was neither created nor found`);
    return { job: winner, created: false as const, event: null };
  }

  /**
   * As create, but only while the caller the generation counts for (its key, or with no key its
   * producer's keyless generations) has fewer than `cap` queued or running; `full` (nothing
   * written) otherwise. One statement: its count runs under the caller's queue lock (queueLockOf),
   * so concurrent creators — in any process on the database — cannot both pass it: the cap holds
   * exactly, at the cost of a count stopped at the cap (CREATE_WITHIN_CAP). In this process, one
   * statement per lock at a time waits for it (oneWaiterPerLock), so a held lock ties up one pooled
   * connection, not all of them.
   */
  async createWithinCap(input: NewGeneration, cap: number): Promise<Created | { full: true }> {
    const lock = queueLockOf(input.apiKeyId ?? null, input.source);
    const values = [...this.insertValues(input), lock, cap];
    const [job] = await oneWaiterPerLock(this.db, lock, () => runStatement<CreatedJob>(this.db, CREATE_WITHIN_CAP, values));
    if (job) return { job, created: true as const, event: envelope('job:queued', { seq: 1, source: job.source, requestId: job.requestId }, { jobId: job.id }) };
    // Nothing inserted: a duplicate of its producer's (source, requestId), or no room.
    const winner = input.requestId ? (await readRows<CreatedJob>(this.db, FIND_BY_REQUEST, [input.source, input.requestId]))[0] : undefined;
    return winner ? { job: winner, created: false as const, event: null } : { full: true };
  }

  private insertValues(input: NewGeneration): unknown[] {
    const { body, resolution } = input;
    // Chosen once and stored in the request, so every retry and replay renders the same image.
    const seed = body.seed ?? randomInt(0, 2 ** 47);
    const id = input.id ?? randomUUID();
    return [
      id, input.source, input.requestId ?? null, input.correlationId ?? null, input.apiKeyId ?? null,
      resolution ? 'resolved' : 'requested', body.priority, json({ ...body, seed }), String(seed),
      body.project, body.episode, body.scene, body.shot ?? null,
      resolution?.characterId ?? null, resolution?.characterVersionId ?? null, resolution?.conditioning.outfit ?? null, json(resolution?.conditioning),
    ];
  }

  async resolve(id: string, resolution: Resolution): Promise<boolean> {
    const { characterId, characterVersionId, conditioning } = resolution;
    return (await runStatement(this.db, RESOLVE, [id, characterId, characterVersionId, conditioning.outfit ?? null, json(conditioning)])).length > 0;
  }

  /**
   * Records the attempt's prompt id and graph before the prompt is sent, so a crash resumes it;
   * the story gets `job:submitted` (the prompt enters the backend's queue). Throws
   * BackendDrainingError, recording nothing, when the backend is marked draining.
   */
  async submit(id: string, attempt: Attempt): Promise<JobEventEnvelope<'job:submitted'> | null> {
    const row = recorded(attempt, await runNumbering<RecordedAttempt>(this.db, SUBMIT, [...attemptValues(id, attempt), json({ jobId: id, backend: attempt.backend })]));
    return row ? envelope('job:submitted', row, { jobId: id, backend: attempt.backend, attempt: row.number }) : null;
  }

  /**
   * Takes an attempt's `job:submitted` (its seq) out of the story: ComfyUI refused the prompt, so
   * it never entered the backend's queue as the event says. The attempt stays; how it ended is
   * recorded with the failure or the next attempt. False when there was no such event.
   */
  async withdrawSubmitted(id: string, seq: number): Promise<boolean> {
    return (await runStatement(this.db, WITHDRAW_SUBMITTED, [id, seq])).length > 0;
  }

  /**
   * Ends the open attempt with `reason` and opens the next one on another backend: the story gets
   * `job:retrying { attempt, reason }` then `job:submitted` for the new attempt (empty when the guard refused;
   * BackendDrainingError when the backend is marked draining).
   */
  async resubmit(id: string, attempt: Attempt, reason: AttemptEndCode): Promise<JobEventEnvelope[]> {
    const why = `${reason}: ${attemptEndMessage[reason]}`;
    const row = recorded(
      attempt,
      await runNumbering<RecordedAttempt>(this.db, RESUBMIT, [
        ...attemptValues(id, attempt),
        json({ code: reason, message: attemptEndMessage[reason] }),
        json({ jobId: id, reason: why }),
        json({ jobId: id, backend: attempt.backend }),
      ]),
    );
    if (!row) return [];
    return [
      envelope('job:retrying', { ...row, seq: row.seq - 1 }, { jobId: id, attempt: row.number, reason: why }),
      envelope('job:submitted', row, { jobId: id, backend: attempt.backend, attempt: row.number }),
    ];
  }

  /**
   * ComfyUI began executing the open attempt's prompt: its startedAt and `job:started`. Not a
   * change of status or stage; guarded so a replayed or late notice (another attempt opened since,
   * or the job over) records nothing. `ticks`: seqs reserved after job:started's for the prompt's
   * progress ticks (the caller publishes them under those seqs, as after `progress`); none by default.
   */
  async started(id: string, promptId: string, ticks = 0): Promise<JobEventEnvelope<'job:started'> | null> {
    const [row] = await runStatement<Recorded & { backend: string; number: number }>(this.db, STARTED, [id, promptId, json({ jobId: id }), ticksReservedAtStart(ticks)]);
    return row ? envelope('job:started', row, { jobId: id, backend: row.backend, attempt: row.number }) : null;
  }

  /**
   * `started` and `progress` in one statement, for a tick that came before the started notice was
   * written: job:started (when the notice applies, as in `started`) then job:progress, in seq order;
   * empty when the job is no longer running there. `reserve` as in `progress`.
   */
  async startedWithProgress(id: string, promptId: string, progress: ProgressTick, reserve = 1): Promise<JobEventEnvelope<'job:started' | 'job:progress'>[]> {
    const [row] = await runStatement<Recorded & { backend: string | null; number: number | null }>(this.db, STARTED_WITH_PROGRESS, [id, promptId, json({ jobId: id }), progress.value, progress.max, progress.node, reserveCount(reserve)]);
    if (!row) return [];
    const tick = progressEvent(id, progress, row.seq);
    if (row.backend === null || row.number === null) return [tick];
    return [envelope('job:started', { ...row, seq: row.seq - 1 }, { jobId: id, backend: row.backend, attempt: row.number }), tick];
  }

  /**
   * Progress is not part of the stored story: only the latest tick is kept, with its seq. The tick
   * takes the first of `reserve` seqs; the caller may publish its next ticks under the others
   * without a statement each (progressEvent), storing the latest with `keepProgress`.
   */
  async progress(id: string, progress: ProgressTick, reserve = 1): Promise<JobEventEnvelope<'job:progress'> | null> {
    // The hot path (every sampler step of every job): one guarded statement.
    const [row] = await runStatement<{ seq: number }>(this.db, PROGRESS, [id, progress.value, progress.max, progress.node, reserveCount(reserve)]);
    return row ? progressEvent(id, progress, row.seq) : null;
  }

  /** Stores a tick published under a reserved seq; false once the job no longer runs there (or a later tick is stored). */
  async keepProgress(id: string, progress: ProgressTick, seq: number): Promise<boolean> {
    return (await runStatement(this.db, PROGRESS_LATEST, [id, seq, progress.value, progress.max, progress.node])).length > 0;
  }

  /**
   * Refused once a cancel was requested: what ComfyUI finished anyway is not filed. `latest`: a tick
   * published under a reserved seq and not stored yet, stored with it (as `keepProgress` would).
   */
  async render(id: string, outputs: RenderOutputs, latest?: ReservedTick): Promise<boolean> {
    const tick = latest ? [latest.seq, latest.tick.value, latest.tick.max, latest.tick.node] : [null, null, null, null];
    return (await runStatement(this.db, RENDER, [id, json(outputs), ...tick])).length > 0;
  }

  /**
   * A filing try takes the rendered job's filing over before it writes a file: from then on only
   * `token` records it (`file`, `fileWithAssets`). False when the job is not awaiting filing;
   * FilingFencedError when it is, but a removal of its files holds the filing fenced (the try waits).
   */
  async claimFiling(id: string, token: string): Promise<boolean> {
    const [row] = await runStatement<{ claimed: boolean; fenced: boolean }>(this.db, CLAIM_FILING, [id, token]);
    if (row.fenced) throw new FilingFencedError(id);
    return row.claimed;
  }

  /**
   * claimFiling with the read of the generation's row (loadGeneration's row, null when there is
   * none), in one statement: the filing stage reads the row it admits this way. `claimed` is false when
   * the job is not awaiting filing, or its filing is fenced (claimFiling then says so). Run again once
   * when the connection dropped under it, as a read is: the same token claims what it claimed
   * already, and a claim takes the filing over from any try anyway.
   */
  async loadClaimingFiling(id: string, token: string): Promise<{ generation: GenerationRow | null; claimed: boolean }> {
    const [row] = await readRows<GenerationRow & { claimed: boolean }>(this.db, CLAIM_FILING_AND_LOAD, [id, token]);
    if (!row) return { generation: null, claimed: false };
    const { claimed, ...generation } = row;
    return { generation, claimed };
  }

  /** Refused (null) also when `token` is not the filing's owner (claimFiling; none: the filing must be unclaimed). */
  async file(id: string, assets: AssetResource[], token: string | null = null): Promise<JobEventEnvelope<'job:completed'> | null> {
    const payload = { jobId: id, assets };
    const [row] = await runStatement<Recorded>(this.db, FILE, [id, json(payload), token]);
    return row ? envelope('job:completed', row, payload) : null;
  }

  /**
   * `file` with the Asset rows of the job's outputs, in one statement: a crash records both or
   * neither. Refused (null) also while the job has Asset rows already, counted in `earlier`: an
   * earlier filing recorded them one by one, and its caller records over them and calls `file`.
   */
  async fileWithAssets(id: string, assets: AssetResource[], rows: Asset[], token: string | null = null): Promise<{ completed: JobEventEnvelope<'job:completed'> | null; earlier: number }> {
    const payload = { jobId: id, assets };
    const [row] = await runStatement<Omit<Recorded, 'seq'> & { seq: number | null; earlier: number }>(this.db, FILE_WITH_ASSETS, [id, json(payload), json(rows), token]);
    return { completed: row.seq === null ? null : envelope('job:completed', { ...row, seq: row.seq }, payload), earlier: row.earlier };
  }

  /**
   * Null when the guard refused: the generation is not queued or running, or (`unlessEndedSince`, a
   * seq of its) it ended after that seq, even if it was re-opened since (FAIL).
   */
  async fail(id: string, error: JobError, options: { unlessEndedSince?: number } = {}): Promise<JobEventEnvelope<'job:failed'> | null> {
    const summary = { code: error.code, message: error.message };
    const payload = { jobId: id, error: summary };
    const [row] = await runStatement<Recorded>(this.db, FAIL, [id, error.code, error.message, error.details !== undefined, json(error.details), json(summary), json(payload), options.unlessEndedSince ?? null]);
    return row ? envelope('job:failed', row, payload) : null;
  }

  /** The orchestrator driving the job: its prompt is off the backend, or it has none yet. */
  async cancel(id: string): Promise<JobEventEnvelope<'job:canceled'> | null> {
    return this.canceled(id, CANCEL);
  }

  /**
   * The gateway's cancel, of a job no backend holds (queued, or rendered and awaiting filing). Null
   * also when it was submitted since it was read: it is in a backend now (requestCancel).
   */
  async cancelAtOnce(id: string): Promise<JobEventEnvelope<'job:canceled'> | null> {
    return this.canceled(id, CANCEL_AT_ONCE);
  }

  private async canceled(id: string, statement: Statement): Promise<JobEventEnvelope<'job:canceled'> | null> {
    const payload = { jobId: id };
    const [row] = await runStatement<Recorded>(this.db, statement, [id, 'canceled', 'canceled', false, null, json({ code: 'canceled', message: 'canceled' }), json(payload)]);
    return row ? envelope('job:canceled', row, payload) : null;
  }

  /**
   * Records that a cancel was asked for while the prompt is in a backend (running, submitted): the
   * orchestrator driving it applies `cancel` once the backend let go. True when it is recorded
   * (again: repeating is harmless); false when the job is no longer there.
   */
  async requestCancel(id: string): Promise<boolean> {
    return (await runStatement(this.db, REQUEST_CANCEL, [id])).length > 0;
  }

  /** Re-opens a failed generation at the stage `queue` runs, clearing its error. */
  async retryStage(id: string, queue: StageQueueKey, reason: string): Promise<JobEventEnvelope<'job:retrying'> | null> {
    return this.reopen(this.onPool.write, id, queue, reason, null);
  }

  /**
   * Runs a failed or canceled generation again from the stage it stopped at, as a new attempt
   * (REST retry); `newSeed` replaces the recorded seed, else the image is rendered with the same one.
   * One stopped at filing is rendered again (rerender) with `newSeed` (its image has the old seed), or
   * when its filing failed because ComfyUI no longer has the output file (404 on /view): filing it
   * again could only fail the same way.
   * The stage is read first to pick the transition; its guard still holds if the row changed since.
   */
  async retry(id: string, options: { reason: string; newSeed?: boolean }): Promise<JobEventEnvelope<'job:retrying'> | null> {
    return this.retryOn(this.onPool, id, options);
  }

  /**
   * As retry, but only while the caller the generation counts for (its key, or its producer's
   * keyless generations) has fewer than `cap` queued or running, counted under that caller's queue
   * lock as createWithinCap counts: `full` (nothing changed) otherwise. A generation of a queue
   * producer (no key, not `countedSource`) counts for no cap and is retried as retry does.
   */
  async retryWithinCap(id: string, options: { reason: string; newSeed?: boolean }, cap: number, countedSource: string): Promise<JobEventEnvelope<'job:retrying'> | null | { full: true }> {
    const [owner] = await readRows<{ apiKeyId: string | null; source: string; reopenable: boolean }>(this.db, OWNER_OF, [id]);
    // One that is not failed or canceled is not retried (null), whatever room its key has: not `full`.
    if (!owner?.reopenable) return null;
    if (!owner.apiKeyId && owner.source !== countedSource) return this.retry(id, options);
    return inLockedTransaction(this.db, queueLockOf(owner.apiKeyId, owner.source), async (tx) => {
      const [{ active }] = await tx.run<{ active: number }>(owner.apiKeyId ? ACTIVE_OF.keyed : ACTIVE_OF.keyless, [owner.apiKeyId ?? owner.source, cap]);
      if (active < cap) return this.retryOn({ read: tx.run, write: tx.run }, id, options);
      // The count decides only for one still reopenable: a racing retry that re-opened it while this
      // one waited for the lock filled the share with it, and a retry of an active one is null, not `full`.
      const [still] = await tx.run<{ reopenable: boolean }>(OWNER_OF, [id]);
      return still?.reopenable ? { full: true as const } : null;
    });
  }

  private async retryOn(run: { read: RunStatement; write: RunStatement }, id: string, options: { reason: string; newSeed?: boolean }): Promise<JobEventEnvelope<'job:retrying'> | null> {
    const [row] = await run.read<{ stage: GenerationJob['stage']; outputGone: boolean | null }>(STAGE_OF, [id]);
    const queue = row && queueForStage(row.stage);
    if (!queue) return null;
    const seed = options.newSeed ? randomInt(0, 2 ** 47) : null;
    if (queue === 'assetFiling' && (seed !== null || row.outputGone)) return this.reopen(run.write, id, 'generationRenders', options.reason, seed, RERENDER);
    return this.reopen(run.write, id, queue, options.reason, seed);
  }

  /** A failed or canceled generation stopped at filing goes back to its render, with `seed` when given, as a new attempt. */
  async rerender(id: string, reason: string, seed: number | null = null): Promise<JobEventEnvelope<'job:retrying'> | null> {
    return this.reopen(this.onPool.write, id, 'generationRenders', reason, seed, RERENDER);
  }

  private async reopen(run: RunStatement, id: string, queue: StageQueueKey, reason: string, seed: number | null, statement = REOPEN[queue]) {
    const [row] = await run<Recorded & { attempt: number }>(statement, [id, json({ jobId: id, reason }), seed === null ? null : String(seed)]);
    return row ? envelope('job:retrying', row, { jobId: id, reason, attempt: row.attempt }) : null;
  }
}

/** Runs one statement: on the pool, or on a transaction's connection. */
type RunStatement = <Row>(statement: Statement, values: unknown[]) => Promise<Row[]>;

/**
 * The advisory lock name under which a caller's generations are counted and admitted against its
 * queue cap (MAX_QUEUED_PER_KEY): one per key, one per producer for keyless generations.
 */
export const queueLockOf = (apiKeyId: string | null, source: string): string => (apiKeyId ? `generation-queue:key:${apiKeyId}` : `generation-queue:keyless:${source}`);

/** A prompt was not recorded because its backend is marked draining: place the job elsewhere (or wait). */
export class BackendDrainingError extends Error {
  readonly name = 'BackendDrainingError';
  constructor(readonly backend: string) {
    super(`backend ${backend} is draining: it takes no new prompt`);
  }
}

/** What SUBMIT and RESUBMIT return: one row, its seq null when nothing was recorded. */
type RecordedAttempt = { seq: number | null; source: string; requestId: string | null; number: number; draining: boolean };

function recorded(attempt: Attempt, [row]: RecordedAttempt[]): (Recorded & { number: number }) | null {
  if (row && row.seq !== null) return row as Recorded & { number: number };
  if (row?.draining) throw new BackendDrainingError(attempt.backend);
  return null;
}

/** A sampler's progress as ComfyUI reports it. */
export type ProgressTick = { value: number; max: number; node: string | null };

/** A tick published under a seq its statement reserved, not stored by that statement. */
export type ReservedTick = { tick: ProgressTick; seq: number };

/** The most seqs one statement reserves for a prompt's ticks. */
export const MAX_RESERVED_PROGRESS_SEQS = 1_000;
/** `n` seqs as a whole number within least..MAX_RESERVED_PROGRESS_SEQS (least when n is not a number). */
const seqsWithin = (n: number, least: number) => Math.min(MAX_RESERVED_PROGRESS_SEQS, Math.max(least, Math.floor(Number.isFinite(n) ? n : least)));
const reserveCount = (n: number) => seqsWithin(n, 1);

/** How many seqs `started` reserves for ticks when asked for `ticks`: within 0..MAX_RESERVED_PROGRESS_SEQS. */
export const ticksReservedAtStart = (ticks: number): number => seqsWithin(ticks, 0);

/** How many seqs a tick's statement reserves: its own and one per step the sampler has left, within 1..MAX_RESERVED_PROGRESS_SEQS. */
export const progressSeqsFor = (tick: ProgressTick): number => reserveCount(tick.max - tick.value + 1);

/** A progress tick as published (it is not stored in the job's story, so it has no origin). */
export function progressEvent(jobId: string, progress: ProgressTick, seq: number): JobEventEnvelope<'job:progress'> {
  // Field by field: the orchestrator hands over the ComfyUI client's progress events, which carry more
  // (promptId, classType); a client must get what the replay of the stored tick gives it, no more.
  const { value, max, node } = progress;
  return { name: 'job:progress', seq, payload: { jobId, value, max, node, seq } };
}

/** $1-$5 of SUBMIT and RESUBMIT. */
const attemptValues = (id: string, a: Attempt) => [id, a.backend, a.promptId, json(a.workflow), json(a.referenceUse)];

const attemptEndMessage: Record<AttemptEndCode, string> = {
  backend_removed: 'the backend is no longer configured',
  prompt_lost: 'the backend lost the prompt: it was neither queued, running nor in its history (as when ComfyUI restarts); tried again on another capable backend when there is one',
  backend_lost: 'the backend went down while holding the prompt',
  backend_error: 'the backend failed the prompt with a transient fault (e.g. a 5xx); tried again on another capable backend when there is one',
  model_missing: 'the backend refused the prompt for a model file it no longer has (deleted or renamed while it ran); the job was routed again',
  backend_stuck: "the backend's worker went on running another prompt past its interrupt, so nothing queued there runs; the job was routed again",
};
