import { DelayedError, UnrecoverableError, WaitingError, type ConnectionOptions, type Job, type Worker } from 'bullmq';
import { jsonDeeperThan, MAX_JSON_DEPTH, MAX_QUEUE_PAYLOAD_BYTES, PIPELINE_CATALOG, type JobError, type JobStage, type QueueKey, type QueuePayload, type StageQueueKey } from '@anime/contracts';
import type { Redis } from 'ioredis';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { createDatabaseWaitLog } from './database-wait-log';
import { classifyFault } from './faults/classify-fault';
import { queueVisibleError } from './faults/queue-visible-error';
import { storableJobError } from './faults/storable-job-error';
import { StageDeferredError, StageRefusedError } from './faults/stage-faults';
import type { JobEventPublisher } from './job-events';
import { admitStage } from './lifecycle/admit-stage';
import { WORKER_LOCKS } from './worker-locks';
import { JobLifecycle, MAX_GENERATION_EVENTS } from './lifecycle/job-lifecycle';
import { moreUrgentWaiting } from './more-urgent-waiting';
import { isActive } from './lifecycle/transitions';
import { loadGeneration, type GenerationRow } from './lifecycle/load-generation';
import { keepJobsFor, type PipelineQueues, type QueueSettings } from './queues';
import { countGenerationFailure, jobDuration } from './metrics/anime-metrics';
import { keepRefusedDataReadable, ReadableJobsWorker, unreadableJobData } from './unreadable-job-data';

export interface StageRun {
  job: Job;
  /** The service's logger bound to this queue job: its id, queue and correlation id are on every line. */
  log: Logger;
  signal?: AbortSignal;
  token?: string;
}

/** What a stage did; `reached` is the stage the generation is at afterwards (its next queue follows). */
export interface StageResult {
  outcome: string;
  reached?: JobStage;
}

/** The work of one queue: which generation a message is about, and the stage's work on its row. */
export interface StageHandler<K extends QueueKey> {
  /** The generation a message names; for a new request, the handler creates it here. */
  locate?: (payload: QueuePayload<K>, run: StageRun) => Promise<string>;
  /**
   * Reads the generation a message names for its admission, in place of loadGeneration (the same
   * row; null when there is none), so that a stage may take something in the same statement: the
   * filing claims a generation awaiting filing with its read. Whatever it takes must be what `run`
   * would take first on the row it reads, since `run` follows when the row admits the stage.
   */
  load?: (generationId: string, run: StageRun) => Promise<GenerationRow | null>;
  /** Runs the stage on a generation whose state admits it. */
  run: (generation: GenerationRow, run: StageRun) => Promise<StageResult>;
  /**
   * A job of this queue came for a generation that is over without this stage's work (canceled or
   * failed): undoes what an earlier try may have left outside the database (files written before a
   * crash). Runs before the job ends as 'done' or refused; a StageDeferredError it throws (the
   * generation re-opened meanwhile) delays the job instead, its tries untouched, to admit it again.
   */
  settle?: (generation: GenerationRow, run: StageRun) => Promise<void>;
  /**
   * A transient fault `run` threw that the stage waits out without spending a try (the backend
   * holding its outputs is down, and keeps them across a restart): in how many ms the job runs
   * again (it is delayed in Redis meanwhile, holding no worker slot), or undefined for BullMQ's
   * retries to decide as for any transient fault. The stage bounds its own wait.
   */
  waitOut?: (error: unknown, generation: GenerationRow, run: StageRun) => Promise<number | undefined>;
}

/** How long a stage waits before trying again while PostgreSQL is unavailable. */
const DATABASE_RETRY_DELAY_MS = 5_000;

/**
 * The field of a stage job's hash in Redis (beside BullMQ's own, removed with the job) that holds the
 * failure it waits to record while PostgreSQL is away (recordFailure): the job's message is a
 * producer's, checked against its queue's strict schema, so it is not kept there.
 */
const PENDING_FAILURE_FIELD = 'animePendingFailure';

/** A generation's failure a stage job is recording: `since`, the seq the job admitted it at; `attemptsMade`, the job's then. */
interface PendingFailure {
  generationId: string;
  error: JobError;
  since: number;
  attemptsMade: number;
}

export interface StageWorkerDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  connection: ConnectionOptions;
  prefix: string;
  log: Logger;
  /** QUEUE_KEEP_COMPLETED_S / QUEUE_KEEP_FAILED_S: also applied to jobs added without removal options (other systems' plain Queue.add). */
  queueSettings?: QueueSettings;
  /** How long a job put back while PostgreSQL is away waits before it runs again (default DATABASE_RETRY_DELAY_MS, 5 s; tests shorten it). */
  databaseRetryDelayMs?: number;
}

/**
 * A BullMQ worker for one queue of the catalog. It parses what comes out of Redis (other systems
 * write to these queues), asks the row whether the stage may run (admitStage), runs it, hands the
 * generation to the queue of the stage it reached, and turns a fault into the generation's failure
 * through the one mapping (classifyFault), once BullMQ's retries for transient faults are spent.
 */
export function createStageWorker<K extends StageQueueKey>(key: K, handler: StageHandler<K>, deps: StageWorkerDeps, options: { concurrency?: number } = {}): Worker {
  const entry = PIPELINE_CATALOG[key];
  // What every producer of ours sets on its jobs; BullMQ otherwise keeps a job added without them for good.
  const { removeOnComplete, removeOnFail } = keepJobsFor(deps.queueSettings);
  const lifecycle = new JobLifecycle(deps.db);
  const databaseRetryDelayMs = deps.databaseRetryDelayMs ?? DATABASE_RETRY_DELAY_MS;

  async function process(job: Job, log: Logger, token?: string, signal?: AbortSignal): Promise<StageResult & { generationId: string }> {
    // What BullMQ could not read at all is refused as an invalid message is. (A job's name decides
    // nothing: the queue says what a message is, and a producer may name its jobs as it likes.)
    const unreadable = unreadableJobData(job);
    if (unreadable !== undefined) await refuse(job, 'rejected unreadable payload', `not JSON (${unreadable.error})`, { keep: unreadable.text });
    // Before its size: JSON.stringify (and the schema's walk) would overflow the stack on it, a fault BullMQ retries.
    if (jsonDeeperThan(job.data)) await refuse(job, 'rejected deeply nested payload', `nested deeper than ${MAX_JSON_DEPTH} levels`, { keep: `(not kept: nested deeper than ${MAX_JSON_DEPTH} levels)` });
    // Checked before the schema: parsing a huge message is the unbounded work this refuses.
    const text = JSON.stringify(job.data ?? null) ?? '';
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_QUEUE_PAYLOAD_BYTES) await refuse(job, 'rejected oversized payload', `${bytes} bytes, more than the limit of ${MAX_QUEUE_PAYLOAD_BYTES}`, { bytes, keep: text });
    const parsed = entry.schema.safeParse(job.data);
    if (!parsed.success) {
      const problems = describeIssues(parsed.error.issues);
      deps.log.warn('rejected malformed payload', { queue: entry.name, jobId: job.id, problems });
      throw new UnrecoverableError(`invalid ${entry.name} payload: ${problems}`);
    }
    const payload = parsed.data as QueuePayload<K>;
    const run: StageRun = { job, log, signal, token };
    if (await backBehindMoreUrgent(run)) throw new WaitingError();
    // Back from waiting out PostgreSQL while it recorded its generation's failure: it records that, and runs nothing.
    const ended = await endPendingFailure(run);
    if (ended) throw ended;
    let admitted: Awaited<ReturnType<typeof admit>>;
    try {
      admitted = await admit(payload, run);
    } catch (error) {
      // The stage deferred itself while settling (a generation re-opened meanwhile: its job runs it again).
      if (error instanceof StageDeferredError && run.token) throw await defer(run, error);
      // Finding, creating or reading the generation met PostgreSQL away: the message waits without
      // spending a try (a producer's message may have no retries at all, and has no row yet to sweep back).
      throw handsBack(run, error) ? await handBack(run, error) : await deferWhileDatabaseAway(run, error);
    }
    if (!('generation' in admitted)) return admitted;
    const { generationId, generation } = admitted;
    try {
      const result = await handler.run(generation, run);
      if (result.reached && result.reached !== generation.stage) await deps.queues.enqueueStage({ ...generation, stage: result.reached });
      return { generationId, ...result };
    } catch (error) {
      throw handsBack(run, error) ? await handBack(run, error) : await failOrRetry(run, generation, error);
    }
  }

  /**
   * A message refused before its schema is checked: one warn line, and the job fails at once,
   * unretried; what it held that Redis should not keep as it is (`keep`) is replaced by that text, cut short.
   */
  async function refuse(job: Job, line: string, why: string, { keep, ...meta }: { keep?: string; bytes?: number } = {}): Promise<never> {
    deps.log.warn(line, { queue: entry.name, jobId: job.id, ...meta });
    if (keep !== undefined) await keepRefusedDataReadable(job, keep);
    throw new UnrecoverableError(`invalid ${entry.name} payload: ${why}`);
  }

  /** The generation a message is about and what the row admits: a stage outcome, or the generation to run the stage on. */
  async function admit(payload: QueuePayload<K>, run: StageRun): Promise<(StageResult & { generationId: string }) | { generationId: string; generation: GenerationRow }> {
    const generationId = handler.locate ? await handler.locate(payload, run) : (payload as { generationId: string }).generationId;
    const generation = handler.load ? await handler.load(generationId, run) : await loadGeneration(deps.db, generationId);
    if (!generation) throw new UnrecoverableError(`generation ${generationId} does not exist`);

    const decision = admitStage(generation, key, run.job.attemptsMade > 0);
    if ((decision.action === 'done' || decision.action === 'refuse') && (generation.status === 'canceled' || generation.status === 'failed')) {
      await handler.settle?.(generation, run);
    }
    switch (decision.action) {
      case 'refuse':
        throw new StageRefusedError(`generation ${generationId}: ${decision.reason}`);
      case 'done':
        return { generationId, outcome: decision.outcome };
      case 'forward':
        await deps.queues.enqueueStage(generation);
        return { generationId, outcome: `already at ${generation.stage}; handed to ${PIPELINE_CATALOG[decision.to].name}` };
      case 'reopen': {
        const reopened = await lifecycle.retryStage(generationId, key, `its ${entry.name} job was retried`);
        await deps.events.publishAll([reopened]);
        const now = await loadGeneration(deps.db, generationId);
        if (!now) throw new UnrecoverableError(`generation ${generationId} does not exist`);
        // Not re-opened (its history reached the cap, or another transition came first) and not running
        // meanwhile: the stage must not run on a generation that is over, nor complete as if it had.
        if (!reopened && !isActive(now)) {
          const capped = (await deps.db.jobEvent.count({ where: { jobId: generationId } })) >= MAX_GENERATION_EVENTS;
          throw new StageRefusedError(`generation ${generationId}: it is ${now.status} and could not be re-opened` + (capped ? ` (its history reached ${MAX_GENERATION_EVENTS} events; submit a new generation instead)` : ''));
        }
        return { generationId, generation: now };
      }
      case 'run':
        return { generationId, generation };
    }
  }

  /**
   * The worker is closing and aborted the job's signal (closeWorkers, once the grace is over), and
   * the stage stopped on it without a verdict of its own: the generation keeps its stage, and the
   * job goes back to the front of its queue (of its priority), its tries untouched, for another
   * process (or this one restarted) to take at once, rather than once its lock lapses. A refusal or a
   * permanent fault reached meanwhile is still the job's outcome (failOrRetry).
   */
  function handsBack({ signal }: StageRun, error: unknown): boolean {
    if (!signal?.aborted) return false;
    if (error instanceof StageRefusedError || error instanceof UnrecoverableError) return false;
    return error === signal.reason || classifyFault(error, key).transient;
  }

  /**
   * BullMQ 6.7's moveToWait puts a job with a priority back without the marker that wakes idle
   * workers (they would see it only when their block times out, 5 s): the marker is added as its
   * own scripts do. (moveToDelayed wakes them, but its promotion puts the job behind every job of
   * its priority already waiting.) Without its lock (lost meanwhile) the job is left as it is, for
   * the stall check.
   */
  async function handBack({ job, token, log }: StageRun, error: unknown): Promise<Error> {
    if (!token) return error as Error;
    try {
      await job.moveToWait(token);
    } catch (moveError) {
      log.warn('could not hand the job back to its queue; it waits for the stall check', { error: (moveError as Error).message });
      return error as Error;
    }
    await wakeIdleWorkers().catch((wakeError) => log.warn('handed the job back, but could not wake idle workers; they see it within 5 s', { error: (wakeError as Error).message }));
    log.info('handed the job back to its queue: the worker is closing', { error: error instanceof Error ? error.message : String(error) });
    return new WaitingError();
  }

  /**
   * BullMQ 6.7's stall check (the process holding the job died) puts the job back on the plain wait
   * list whatever its priority, and workers take that list before any prioritized job: once every
   * orchestrator was killed, the batch jobs they held came back ahead of every interactive job
   * waiting. A job that stalled before and finds a more urgent one waiting (or a wait list too long
   * to read whole: moreUrgentWaiting, one script) goes back to the front of its own priority
   * (moveToWait), before anything is run. Else (or on any Redis error) it runs.
   */
  async function backBehindMoreUrgent({ job, token, log }: StageRun): Promise<boolean> {
    if (!token || !job.stalledCounter || !job.priority) return false;
    try {
      const client = (await worker.getBackend().client) as unknown as Redis;
      if (!(await moreUrgentWaiting(client, { prioritized: worker.keys.prioritized, wait: worker.keys.wait, jobPrefix: worker.toKey('') }, job.priority))) return false;
      await job.moveToWait(token);
    } catch (error) {
      log.warn('could not put a job back by the stall check behind more urgent jobs; it runs now', { error: (error as Error).message });
      return false;
    }
    await wakeIdleWorkers().catch((wakeError) => log.warn('put the job back, but could not wake idle workers; they see it within 5 s', { error: (wakeError as Error).message }));
    log.info('a job the stall check put back went behind more urgent jobs waiting', { priority: job.priority });
    return true;
  }

  async function wakeIdleWorkers(): Promise<void> {
    const client = (await worker.getBackend().client) as unknown as Redis;
    await client.zadd(worker.keys.marker, 0, '0');
  }

  /** PostgreSQL away before the stage ran: the job is delayed, its tries untouched; any other fault is thrown as it is. */
  async function deferWhileDatabaseAway(run: StageRun, error: unknown): Promise<Error> {
    if (!run.token || !classifyFault(error, key).databaseUnavailable) return error as Error;
    return waitForDatabase(run, error);
  }

  /** PostgreSQL away: the job comes back in 5 s (databaseRetryDelayMs), its tries untouched; databaseWait says so, once a minute per worker. */
  async function waitForDatabase({ job, token, log }: StageRun, error: unknown): Promise<Error> {
    await job.moveToDelayed(Date.now() + databaseRetryDelayMs, token!);
    databaseWait(log, error);
    const delayed = new DelayedError();
    explained.add(delayed);
    return delayed;
  }

  /**
   * The stage deferred itself (it began nothing): the job is delayed, its tries untouched, and
   * whoever may wake it earlier is told. Its one line says why, at the level the stage chose (its
   * end, outcome deferred, is logged at debug). Without its lock (lost meanwhile) the move throws, and the job is left to
   * the stall check.
   */
  async function defer({ job, token, log }: StageRun, error: StageDeferredError): Promise<Error> {
    await job.moveToDelayed(Date.now() + error.delayMs, token!);
    error.onDelayed?.(job);
    log.log(error.logAt, 'stage job deferred to its queue', { delayMs: error.delayMs, reason: error.message });
    const delayed = new DelayedError();
    explained.add(delayed);
    return delayed;
  }

  /** Ends of stage jobs whose reason a line already gave (a deferral): their own line is at debug. */
  const explained = new WeakSet<Error>();
  const databaseWait = createDatabaseWaitLog(entry.name, databaseRetryDelayMs);

  /**
   * A transient fault the stage waits out, or one with tries left, goes back to BullMQ (delayed, or
   * its backoff); anything else fails the generation.
   */
  async function failOrRetry(run: StageRun, generation: GenerationRow, error: unknown): Promise<Error> {
    const { job, token } = run;
    const generationId = generation.id;
    if (error instanceof StageRefusedError) return new UnrecoverableError(error.message);
    if (error instanceof StageDeferredError && token) return defer(run, error);
    const fault = classifyFault(error, key);
    // PostgreSQL away is nobody's fault and cannot record a failure: wait, without spending a try.
    if (fault.databaseUnavailable && token) return waitForDatabase(run, error);
    const waitMs = fault.transient && token && handler.waitOut ? await handler.waitOut(error, generation, run) : undefined;
    if (waitMs !== undefined && token) {
      await job.moveToDelayed(Date.now() + waitMs, token);
      // The stage's waitOut said why (its wait's first look at info, later ones at debug).
      const delayed = new DelayedError();
      explained.add(delayed);
      return delayed;
    }
    const tries = job.opts.attempts ?? 1;
    if (fault.transient && job.attemptsMade + 1 < tries) return error as Error;
    // ComfyUI's words (and any fault's) made storable and bounded before PostgreSQL, pub/sub, sockets and webhooks get them.
    const stored = storableJobError(fault.error);
    const message = fault.transient ? `${stored.message} (try ${job.attemptsMade + 1} of ${tries})` : stored.message;
    return recordFailure(run, { generationId, error: { ...stored, message }, since: generation.eventSeq, attemptsMade: job.attemptsMade });
  }

  /**
   * Records the generation's failure, and the job ends failed, unretried. PostgreSQL away while it
   * is recorded (unreachable, or the statement outliving DATABASE_QUERY_TIMEOUT_MS: it may still
   * commit) is waited out as anywhere else, its tries untouched, the failure kept with the job
   * (PENDING_FAILURE_FIELD): the job comes back to record it (endPendingFailure), not to run its stage
   * again. Before, the timeout was the job's own error: BullMQ spent a try, and its retry re-opened the
   * generation the failure had failed on commit (admitStage) and rendered it again.
   */
  async function recordFailure(run: StageRun, pending: PendingFailure): Promise<Error> {
    const { generationId, error, since } = pending;
    let failed: Awaited<ReturnType<JobLifecycle['fail']>>;
    try {
      // Not if the generation ended since it was admitted: a failure that landed unseen is not recorded
      // twice, nor a run re-opened since (a REST retry) failed for this one.
      failed = await lifecycle.fail(generationId, error, { unlessEndedSince: since });
    } catch (dbError) {
      if (!run.token || !classifyFault(dbError, key).databaseUnavailable) throw dbError;
      await keepPendingFailure(run.job, pending);
      return waitForDatabase(run, dbError);
    }
    // Counted once, by the process that recorded it: a row already settled (null) is not failed again.
    if (failed) countGenerationFailure(error.code);
    await deps.events.publishAll([failed]);
    return new UnrecoverableError(error.message);
  }

  /**
   * A job back from waiting out PostgreSQL while recording its generation's failure records it
   * (recordFailure, guarded by the seq the job was admitted at), and ends failed as it would have,
   * without running its stage again: the failure had landed unseen (it is not recorded twice; its
   * stored end reaches followers through the gateway's quiet check and webhooks through their
   * recovery sweep, as the filing's "already completed" does), or had not (it is recorded now). Null,
   * and the job goes on as any, when it kept no failure, or when the generation was re-opened since
   * (a REST retry, which keeps this delayed job to run it). A failure kept by an earlier run of the job
   * (its attemptsMade since moved on: it ended, and was retried from a dashboard) is not this run's.
   */
  async function endPendingFailure(run: StageRun): Promise<Error | null> {
    const { job } = run;
    // Only a job started before can have waited: one Redis read, not one per job.
    if (job.attemptsStarted <= 1) return null;
    const pending = await readPendingFailure(job);
    if (!pending) return null;
    if (pending.attemptsMade !== job.attemptsMade) {
      await dropPendingFailure(job);
      return null;
    }
    let generation: GenerationRow | null;
    let ended: Error;
    try {
      ended = await recordFailure(run, pending);
      if (ended instanceof DelayedError) return ended;
      generation = await loadGeneration(deps.db, pending.generationId);
    } catch (error) {
      // PostgreSQL away while the generation is read: waited out too, the failure still kept.
      throw await deferWhileDatabaseAway(run, error);
    }
    await dropPendingFailure(job);
    // Re-opened since its failure landed: this job runs the new run (admit), as removeFinished kept it to.
    if (generation && isActive(generation)) return null;
    return ended;
  }

  async function keepPendingFailure(job: Job, pending: PendingFailure): Promise<void> {
    const client = (await worker.getBackend().client) as unknown as Redis;
    await client.hset(worker.toKey(job.id!), PENDING_FAILURE_FIELD, JSON.stringify(pending));
  }

  async function readPendingFailure(job: Job): Promise<PendingFailure | null> {
    const client = (await worker.getBackend().client) as unknown as Redis;
    const text = await client.hget(worker.toKey(job.id!), PENDING_FAILURE_FIELD);
    if (!text) return null;
    try {
      return JSON.parse(text) as PendingFailure;
    } catch {
      return null;
    }
  }

  async function dropPendingFailure(job: Job): Promise<void> {
    const client = (await worker.getBackend().client) as unknown as Redis;
    // Left behind, it is told from this run's by attemptsMade (endPendingFailure).
    await client.hdel(worker.toKey(job.id!), PENDING_FAILURE_FIELD).catch(() => undefined);
  }

  const worker = new ReadableJobsWorker(
    entry.name,
    async (job, token, signal) => {
      const correlationId = (job.data as { correlationId?: string })?.correlationId;
      // The job's lines carry its correlation id, so one id follows a job through every service.
      const log = deps.log.child({ jobId: job.id, queue: entry.name, correlationId });
      const stopTimer = jobDuration.startTimer({ queue: entry.name, stage: entry.jobName });
      try {
        const result = await process(job, log, token, signal);
        const seconds = stopTimer({ outcome: 'completed' });
        log.info('stage job done', { generationId: result.generationId, outcome: result.outcome, durationMs: Math.round(seconds * 1000) });
        return result;
      } catch (error) {
        const outcome = durationOutcome(error);
        const seconds = stopTimer({ outcome });
        log.log(explained.has(error as Error) ? 'debug' : 'info', 'stage job ended without completing', { outcome, durationMs: Math.round(seconds * 1000), error: (error as Error).message });
        // What BullMQ keeps of it (failedReason, stacktrace) names no URL's credentials, the class unchanged.
        throw queueVisibleError(error instanceof StageRefusedError ? new UnrecoverableError(error.message) : error);
      }
    },
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: options.concurrency ?? 1,
      autorun: false,
      // For jobs that name none (a job's own removeOnComplete / removeOnFail wins).
      removeOnComplete,
      removeOnFail,
      // A crashed worker's job becomes stalled and is retried by another (or the restarted) one
      // within ~15 s; stages are idempotent, so a false stall costs time, not correctness.
      ...WORKER_LOCKS,
    },
  );
  worker.on('failed', (job, error) => {
    if (job) deps.log.warn('queue job failed', { queue: entry.name, jobId: job.id, attemptsMade: job.attemptsMade, error: error.message });
  });
  worker.on('error', (error) => deps.log.error('worker error', { queue: entry.name, error: error.message }));
  return worker;
}

/** How a stage job that threw ended, for anime_job_duration_seconds. */
function durationOutcome(error: unknown): 'failed' | 'deferred' | 'errored' {
  // Delayed (PostgreSQL away, or a fault the stage waits out) or handed back (the worker closing): it runs again, its tries untouched.
  if (error instanceof DelayedError || error instanceof WaitingError) return 'deferred';
  if (error instanceof UnrecoverableError || error instanceof StageRefusedError) return 'failed';
  return 'errored';
}

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][] };

/**
 * A refusal a producer can act on: each issue as `path: message`. A message matching no form of a
 * union (generation-requests takes a request or a reference to a generation) is described by the
 * form it came closest to, rather than zod's bare "Invalid input": a form that does not even know the
 * message's keys is the wrong one, then the one with the fewest issues; on a tie the last (the request).
 */
export function describeIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): string {
  return issues
    .map((issue) => {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'invalid_union' && issue.errors?.length) {
        const rank = (branch: Issue[]) => (branch.some((i) => i.code === 'unrecognized_keys' && !i.path.length) ? 1_000_000 : 0) + branch.length;
        const closest = issue.errors.reduce((best, branch) => (rank(branch) <= rank(best) ? branch : best));
        if (closest.length) return describeIssues(closest, path);
      }
      return `${path.map(String).join('.') || '(payload)'}: ${issue.message}`;
    })
    .join('; ');
}
