import { ComfyExecutionError, ComfyHttpError, ComfyPromptLostError, ComfyUnreachableError, ComfyValidationError, endedWell, type ClientIdLeases } from '@anime/comfyui-client';
import { generationRequestBodySchema, type AttemptEndCode, type JobEventEnvelope } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { BackendDrainingError, JobLifecycle, MalformedDataError, PromptTimedOutError, readConditioning, readWorkflow, type GenerationRow, type JobEventPublisher, type StageHandler } from '@anime/pipeline';
import type { BackendLease } from '../domain/backend-pool';
import { promptIdFor } from '../domain/prompt-id';
import { modelFilesOf } from '../domain/backends/capabilities';
import { BackendLostError } from '../domain/backends/backend-lost-error';
import { samplerSteps } from '../domain/sampler-steps';
import type { CancelRequests } from './cancel-requests';
import { linkSignals } from './linked-signal';
import { loadTemplate } from './load-template';
import { PromptNotices } from './prompt-notices';
import { SubmittedNotice } from './submitted-notice';
import { placeJob } from './place-job';
import type { JobToRender, PrepareWorkflowDeps } from './prepare-workflow';
import { lostPromptTimedOut, stopCause, stopRender, timedOutAfter } from './stop-render';

export interface RenderPromptDeps extends PrepareWorkflowDeps {
  db: Db;
  events: JobEventPublisher;
  log: Logger;
  /** JOB_TIMEOUT_S in ms: how long a prompt may take from submission (or a job may wait for a backend); then the job fails with timeout. */
  jobTimeoutMs?: number;
  /** Cancel requests for the generations this process renders. */
  cancels: CancelRequests;
  /** How long a canceled or timed-out prompt is given to leave the backend (default 15 s). */
  stopGraceMs?: number;
  /** Lend the clientId a resumed prompt was sent with (another process's, or ours before a restart), so its progress is heard. */
  clientIdLeases?: ClientIdLeases;
}

const DEFAULT_JOB_TIMEOUT_MS = 600_000;
/** The most output files one prompt may list (a generation asks for at most 16 images; a template may save a few per image). */
export const MAX_OUTPUTS_PER_PROMPT = 1_000;

/** The clocks of a render across its attempts, and how many attempts it has (undefined: ask PostgreSQL). */
interface AttemptClock {
  waitStartedAt: number;
  firstSubmittedAt?: number;
  /** The backend of the open attempt (the last one recorded), once there is one. */
  backend?: string;
  attempts?: number;
  /** Backends that refused a model they had listed and no longer list it: each sends the job elsewhere once. */
  modelsGoneOn?: Set<string>;
}

/**
 * How one attempt ended: rendered, or it ended without the job (its backend died under it, or no
 * longer has a model the prompt named): the job goes on elsewhere, the attempt ending with `reason`
 * (backend_lost when none).
 */
type AttemptOutcome = { kind: 'rendered' } | { kind: 'lost'; reason?: AttemptEndCode } | { kind: 'gone'; outcome: string };

/** The job to render, and its queue job: the id it is handed back under, whether it ran before (it may have been handed back), and how often. */
type QueuedRender = JobToRender & { queued: { queueJobId: string; returning: boolean; handedBackBefore: number } };

/**
 * `generation-renders` → routes the job to a capable backend, builds the workflow, submits it
 * under a prompt id recorded in PostgreSQL first (stage `submitted`), follows it to the end and
 * records its outputs (stage `rendered`). After a crash the same generation resumes the recorded
 * prompt instead of submitting a second one. A backend that dies under the prompt (or was removed)
 * makes it a new attempt on another capable backend. Faults are thrown; the stage worker decides
 * what they mean.
 */
export function createRenderPromptHandler(deps: RenderPromptDeps): StageHandler<'generationRenders'> {
  const lifecycle = new JobLifecycle(deps.db);
  const limitMs = deps.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;

  return {
    run: async (generation, { signal, job }) => {
      if (!generation.character) throw new MalformedDataError(`generation ${generation.id} has no resolved character`);
      const cancel = deps.cancels.watch(generation.id);
      // A cancel asked for while no process drove it (a lost message, a restart) is in the row.
      if (generation.cancelRequestedAt) deps.cancels.abort(generation.id);
      try {
        // A retry after a transient fault: a prompt no longer on its backend goes to another one.
        // Started before (attemptsStarted counts each time BullMQ took it): it may come back from a hand-back.
        return await render(generation, cancel.signal, signal, job.attemptsMade > 0 ? lastTryEnded(job.failedReason, generation.promptId) : false, { queueJobId: job.id!, returning: job.attemptsStarted > 1, handedBackBefore: Math.max(0, job.attemptsStarted - 1) });
      } finally {
        cancel.dispose();
      }
    },
    // Its generation canceled while the job was handed back: it ends here, never back in acquire(), so it leaves the lines of handed-back jobs now.
    settle: async (_generation, { job }) => {
      if (job.id) await deps.pool.handedBackEnded(job.id);
    },
  };

  /** `retried`: how the last try of the queue job ended, when it had one (false: this is its first). */
  async function render(generation: GenerationRow, cancel: AbortSignal, signal: AbortSignal | undefined, retried: LastTry | false, queued: QueuedRender['queued']) {
    const conditioning = readConditioning(generation);
    const template = await loadTemplate(deps.db, conditioning);
    const job: QueuedRender = { id: generation.id, seed: generation.seed, request: generationRequestBodySchema.parse(generation.request), conditioning, characterSlug: generation.character!.slug, template, queued };
    let submitted = generation.stage === 'submitted';
    let endReason: AttemptEndCode | undefined;
    let avoid: string | undefined;
    if (submitted && generation.backend && generation.promptId) {
      const state = deps.pool.stateOf(generation.backend);
      if (state === 'up') {
        const outcome = await resume(generation, cancel, signal, !!retried);
        if (outcome.kind === 'failed_here') {
          // Its backend does not hold the prompt: lost there (the last try found it gone, as after a
          // ComfyUI restart), or never queued (the last try's POST met a transient fault, a 5xx).
          endReason = retried === 'prompt_lost' ? 'prompt_lost' : 'backend_error';
          avoid = generation.backend;
        } else if (outcome.kind !== 'lost') return result(outcome);
        else endReason = outcome.reason;
      }
      // Down because its worker is stuck: the prompt waits there behind the stuck one, and is taken off
      // at once (as when the backend is found stuck under a job), not run once ComfyUI lets go while
      // the job waits for a place, possibly on that very backend.
      const stuck = state === 'down' && deps.pool.isStuck(generation.backend);
      endReason ??= state === 'unconfigured' ? 'backend_removed' : stuck ? 'backend_stuck' : 'backend_lost';
      if (state === 'down') deps.pool.abandon(generation.backend, generation.id, generation.promptId, stuck);
    }
    if (cancel.aborted) return result(await cancelNow(generation.id, 'its backend is gone: nothing to take off'));
    // Waiting for a backend and the prompt's own run are each bounded by JOB_TIMEOUT_S; a
    // failover keeps the clock of the first submission of its attempt (one in flight: `submitted`).
    // A retry is a new attempt, with a clock of its own: its row still holds the last attempt's
    // start, which timed it out at once when retried later than JOB_TIMEOUT_S.
    // A generation never submitted (no prompt id recorded) has no attempt yet: its first needs no count.
    const inFlightSince = generation.stage === 'submitted' ? generation.startedAt?.getTime() : undefined;
    const clock: AttemptClock = { waitStartedAt: Date.now(), firstSubmittedAt: inFlightSince, backend: generation.backend ?? undefined, attempts: generation.promptId ? undefined : 0 };
    for (;;) {
      const outcome = await attempt(generation, job, submitted ? (endReason ?? 'backend_lost') : undefined, clock, cancel, signal, avoid);
      if (outcome.kind !== 'lost') return result(outcome);
      if (cancel.aborted) return result(await cancelNow(generation.id, 'its backend was lost: nothing to take off'));
      submitted = true;
      endReason = outcome.reason ?? 'backend_lost';
    }
  }

  async function cancelNow(jobId: string, why: string): Promise<{ kind: 'gone'; outcome: string }> {
    await deps.events.publishAll([await lifecycle.cancel(jobId)]);
    return { kind: 'gone', outcome: `canceled; ${why}` };
  }

  function result(outcome: Exclude<AttemptOutcome, { kind: 'lost' }>) {
    return outcome.kind === 'gone' ? { outcome: outcome.outcome } : { outcome: 'rendered', reached: 'rendered' as const };
  }

  /**
   * A new attempt: the first (`endReason` undefined) or the next after the open one ended. A backend
   * whose drain the cached flags did not show yet refuses the submit: the flags are read again and
   * the job placed anew.
   */
  async function attempt(generation: GenerationRow, job: QueuedRender, endReason: AttemptEndCode | undefined, clock: AttemptClock, cancel: AbortSignal, signal?: AbortSignal, avoid?: string): Promise<AttemptOutcome> {
    for (;;) {
      const outcome = await attemptOnce(generation, job, endReason, clock, cancel, signal, avoid);
      if (outcome.kind !== 'draining') return outcome;
      await deps.pool.refreshDrain();
    }
  }

  async function attemptOnce(generation: GenerationRow, job: QueuedRender, endReason: AttemptEndCode | undefined, clock: AttemptClock, cancel: AbortSignal, signal?: AbortSignal, avoid?: string): Promise<AttemptOutcome | { kind: 'draining' }> {
    // A new attempt after the open one ended (its prompt lost, its backend gone) is followed within
    // JOB_TIMEOUT_S of the first submission: past that it is not posted (the deadline would take it
    // off at once), nor waited for; the job ends with timeout, the open attempt with the job's error.
    const repostBy = endReason && clock.firstSubmittedAt !== undefined ? clock.firstSubmittedAt + limitMs : Infinity;
    if (Date.now() >= repostBy) throw repostTimedOut(endReason!, clock);
    let placement: Awaited<ReturnType<typeof placeJob>>;
    try {
      // A first attempt has recorded nothing yet: it may go back to the queue (StageDeferredError) rather than wait long here.
      const handBack = endReason === undefined ? job.queued : undefined;
      placement = await placeJob(deps, job, { deadlineAt: Math.min(clock.waitStartedAt + limitMs, repostBy), limitS: Math.round(limitMs / 1000), signal: AbortSignal.any([cancel, ...(signal ? [signal] : [])]), avoid, handBack });
    } catch (error) {
      if (cancel.aborted && !signal?.aborted) return cancelNow(generation.id, 'it was still waiting for a backend');
      // Its prompt lost, it waited for a place to post it again: told as a lost prompt's timeout.
      if (error instanceof PromptTimedOutError && Date.now() >= repostBy && lostPrompt(endReason!)) throw repostTimedOut(endReason!, clock);
      throw error;
    }
    const { lease, workflow, referenceUse } = placement;
    try {
      if (Date.now() >= repostBy) throw repostTimedOut(endReason!, clock);
      const number = (clock.attempts ?? (await deps.db.jobAttempt.count({ where: { jobId: generation.id } }))) + 1;
      const promptId = promptIdFor(generation.id, number);
      const record = { backend: lease.url, promptId, workflow, referenceUse };
      // A free backend is handed out without a look at the signal: once the worker is closing
      // (closeWorkers aborted it) no attempt is recorded that this process would not follow; the job
      // is handed back as it is (its reason thrown) for the next process to place.
      signal?.throwIfAborted();
      let events: JobEventEnvelope[];
      try {
        events = endReason ? await lifecycle.resubmit(generation.id, record, endReason) : [await lifecycle.submit(generation.id, record)].filter((e) => e !== null);
      } catch (error) {
        if (error instanceof BackendDrainingError) return { kind: 'draining' };
        throw error;
      }
      if (!events.length) return { kind: 'gone', outcome: endReason ? 'resubmitted elsewhere' : 'submitted elsewhere' };
      clock.attempts = number;
      clock.backend = lease.url;
      // job:retrying is published at once, job:submitted once ComfyUI has queued the prompt; neither
      // is awaited before the prompt is posted (one Redis round trip less on the way to the
      // backend): the commands are on the publisher's one connection, ahead of any later event of
      // this job, and the prompt's own notices wait for them.
      const submitted = new SubmittedNotice({ lifecycle, events: deps.events, log: deps.log }, events.at(-1) as JobEventEnvelope<'job:submitted'>, deps.events.publishAll(events.slice(0, -1)));
      deps.pool.recordSubmitted(lease.url, lease.checkpoint);
      clock.firstSubmittedAt ??= Date.now();
      const sentAt = Date.now();
      return await follow(
        generation.id,
        lease,
        promptId,
        clock.firstSubmittedAt,
        cancel,
        signal,
        (options) => lease.client.run(workflow, { ...options, promptId, onAccepted: submitted.accepted, extraData: { extra_pnginfo: { generation: { jobId: generation.id } } } }),
        submitted,
        samplerSteps(workflow),
      ).catch(async (error) => {
        if (!signal?.aborted && (await modelsGone(error, lease, sentAt, clock))) return { kind: 'lost', reason: 'model_missing' } as const;
        throw error;
      });
    } finally {
      lease.release();
    }
  }

  /**
   * JOB_TIMEOUT_S ran out before the next attempt was posted: a prompt its backend no longer had
   * (found lost on a retry) is told as the timeout of a lost prompt is; another end (its backend
   * down, removed, stuck, a model gone) names how the open attempt ended.
   */
  function repostTimedOut(endReason: AttemptEndCode, clock: AttemptClock): PromptTimedOutError {
    const backend = clock.backend ?? 'its backend';
    if (lostPrompt(endReason)) return lostPromptTimedOut(limitMs, backend);
    return new PromptTimedOutError(`${timedOutAfter(limitMs)}; its attempt on ${backend} ended (${endReason}) and the time was up before the prompt could be posted again`);
  }

  /**
   * ComfyUI refused the prompt (value_not_in_list) for a model file the backend's capabilities listed
   * when the job was routed there, and once they are read again (one read for every job refused
   * meanwhile) it no longer lists it: a model deleted or renamed while ComfyUI runs. The job is then
   * routed again, spending no try: to another backend that has the file, else it waits or fails with
   * no_capable_backend naming it. Once per backend for a job, so it never loops.
   */
  async function modelsGone(error: unknown, lease: BackendLease, sentAt: number, clock: AttemptClock): Promise<boolean> {
    if (!(error instanceof ComfyValidationError) || error.promptId || !lease.capabilities) return false;
    const listed = modelFilesOf(lease.capabilities);
    const files = [...new Set(refusedValues(error))].filter((value) => listed.has(value));
    clock.modelsGoneOn ??= new Set();
    if (!files.length || clock.modelsGoneOn.has(lease.url) || !(await deps.pool.modelsRefused(lease.url, files, sentAt))) return false;
    clock.modelsGoneOn.add(lease.url);
    deps.log.warn('backend no longer has a model the prompt named; routing the job again', { backend: lease.url, files });
    return true;
  }

  /** The recorded prompt on its backend, which is up: followed, or posted again if the backend lost it. */
  async function resume(generation: GenerationRow, cancel: AbortSignal, signal: AbortSignal | undefined, retried: boolean): Promise<AttemptOutcome | { kind: 'failed_here' }> {
    const lease = deps.pool.acquireExisting(generation.backend!)!;
    try {
      const workflow = readWorkflow(generation);
      const promptId = generation.promptId!;
      // JOB_TIMEOUT_S stops a prompt still running: one that ended well while no process followed it
      // (ours died, then its queue job waited behind others) is rendered, however late it is picked up.
      const finished = await finishedWell(lease.client, promptId);
      const startedAt = finished ? Date.now() : (generation.startedAt?.getTime() ?? Date.now());
      // ComfyUI tells of a start only while the prompt runs: one that ended unheard (or whose start
      // could not be recorded, the database away) is recorded as started now, before its outputs;
      // guarded, so an attempt already started records nothing.
      if (finished) await deps.events.publishAll([await lifecycle.started(generation.id, promptId)].filter((event) => event !== null));
      // After a crash of ours the backend still holds the prompt, or gets it again (resubmit), unless
      // JOB_TIMEOUT_S has run out (the deadline would take it off at once): it then times out as a
      // lost prompt. After a transient fault there, a prompt it does not hold goes to another capable backend instead.
      const resubmit = retried || Date.now() >= startedAt + limitMs ? {} : { resubmit: workflow };
      return await follow(generation.id, lease, promptId, startedAt, cancel, signal, (options) => lease.client.follow(promptId, { ...options, ...resubmit, leases: deps.clientIdLeases }), undefined, samplerSteps(workflow));
    } catch (error) {
      if (retried && error instanceof ComfyPromptLostError) return { kind: 'failed_here' };
      throw error;
    } finally {
      lease.release();
    }
  }

  type Follow = Parameters<BackendLease['client']['follow']>[1];

  /**
   * Follows the prompt to its end, within JOB_TIMEOUT_S of the first submission; stops if the
   * backend dies, the job is canceled or the deadline passes (then the prompt is taken off once).
   */
  async function follow(
    jobId: string,
    lease: BackendLease,
    promptId: string,
    since: number,
    cancel: AbortSignal,
    signal: AbortSignal | undefined,
    start: (options: Follow) => ReturnType<BackendLease['client']['run']>,
    /** A new attempt's job:submitted, published once ComfyUI queues the prompt (none when a recorded prompt is resumed). */
    submitted?: SubmittedNotice,
    /** The progress ticks the prompt is expected to send: their seqs are reserved when it starts. */
    expectedTicks = 0,
  ): Promise<AttemptOutcome> {
    const deadline = AbortSignal.timeout(Math.max(0, since + limitMs - Date.now()));
    // Linked, not AbortSignal.any: the backend's `lost` outlives the job and must keep nothing of it.
    const stop = linkSignals([signal, deadline, lease.lost, cancel]);
    // Only the latest tick matters (latestProgressOnly): one write in flight per job, ticks arriving
    // meanwhile collapse into the newest; everything noticed is recorded before the outcome is.
    const notices = new PromptNotices({ lifecycle, events: deps.events, log: deps.log }, jobId, promptId, submitted?.announced, expectedTicks);
    try {
      // cancelOnAbort false: stopRender takes the prompt off once and waits for ComfyUI to confirm.
      const run = await start({ onProgress: notices.progress, onStarted: notices.started, signal: stop.signal, cancelOnAbort: false, latestProgressOnly: true });
      const outputs = filedOutputs(run.outputs);
      // A success with nothing to file would complete the generation with no image; one with
      // thousands would fill the library and every event and resource naming its assets.
      if (outputs.length === 0) throw new ComfyExecutionError(promptId, { exception_message: `ComfyUI reports prompt ${promptId} finished, but its history lists no output file` });
      if (outputs.length > MAX_OUTPUTS_PER_PROMPT) {
        throw new ComfyExecutionError(promptId, { exception_message: `ComfyUI's history of prompt ${promptId} lists ${outputs.length} output files; a generation files at most ${MAX_OUTPUTS_PER_PROMPT}` });
      }
      // The latest tick not stored yet is stored with the outputs.
      const rendered = await lifecycle.render(jobId, { backend: lease.url, promptId, items: outputs }, await notices.settledButLatest());
      deps.pool.recordDone(lease.url);
      // Refused for a cancel request this process has not heard of yet (its message in flight or lost): canceled now, not left at submitted.
      if (!rendered && (cancel.aborted || (await deps.cancels.requested(jobId)))) return cancelNow(jobId, 'ComfyUI finished it anyway; its outputs are not filed');
      return { kind: 'rendered' };
    } catch (error) {
      // A prompt ComfyUI refused has no job:submitted, and its notices are dropped. With no answer
      // it may hold the prompt: the event stands (at shutdown stored alone, for the next process).
      if (isRefusal(error)) await submitted?.refused();
      else submitted?.unanswered({ publish: !signal?.aborted });
      await notices.settled();
      if (signal?.aborted) throw error;
      const lost = lease.lost.aborted || (error instanceof ComfyUnreachableError && (await deps.pool.confirmDown(lease.url)));
      const cause = stopCause({ shutdown: signal, cancel, deadline });
      if (cause && !lost) {
        const onIgnored = () => deps.pool.markStuck(lease.url, promptId);
        const stopped = await stopRender({ generationId: jobId, client: lease.client, promptId, lifecycle, events: deps.events, log: deps.log, graceMs: deps.stopGraceMs, limitMs, onIgnored }, cause);
        return { kind: 'gone', outcome: stopped.outcome };
      }
      if (lost) {
        deps.log.warn('backend lost while holding the prompt; trying another', { jobId, backend: lease.url, promptId });
        const stuck = lease.lost.reason instanceof BackendLostError && lease.lost.reason.stuck;
        deps.pool.abandon(lease.url, jobId, promptId, stuck);
        return { kind: 'lost', reason: stuck ? 'backend_stuck' : 'backend_lost' };
      }
      if (cause === 'timeout') throw new PromptTimedOutError(`timed out after ${Math.round(limitMs / 1000)} s (JOB_TIMEOUT_S)`);
      throw error;
    } finally {
      stop.dispose();
    }
  }
}

/** The open attempt ended because its backend does not hold the prompt (found so on a retry): lost, or never queued. */
const lostPrompt = (endReason: AttemptEndCode) => endReason === 'prompt_lost' || endReason === 'backend_error';

/** How the last try of a retried render ended: its backend lost the prompt, or another transient fault. */
type LastTry = 'prompt_lost' | 'transient_fault';

/**
 * How the last try ended, from the reason BullMQ kept of it: the follower found the prompt gone from
 * its backend (ComfyPromptLostError for that prompt: ComfyUI had queued it, then no longer had it).
 */
function lastTryEnded(failedReason: string | undefined, promptId: string | null): LastTry {
  return promptId && failedReason?.startsWith(new ComfyPromptLostError(promptId, '').message) ? 'prompt_lost' : 'transient_fault';
}

/**
 * The outputs a generation files. PreviewImage writes to temp/ (`type` temp), which ComfyUI clears
 * when it restarts: a preview beside a save node (often of the very image saved) is not a result, and
 * filing it doubled the assets and failed the job when the backend restarted before filing. Previews
 * are filed only from a graph that saves nothing else (comfyui-protocol.md §9).
 */
export function filedOutputs<T extends { type: string }>(outputs: T[]): T[] {
  const saved = outputs.filter((output) => output.type !== 'temp');
  return saved.length > 0 ? saved : outputs;
}

/** The values ComfyUI refused as not in an input's list of choices (value_not_in_list: a model file, a sampler name…). */
function refusedValues(error: ComfyValidationError): string[] {
  return Object.values(error.nodeErrors).flatMap((node) =>
    (Array.isArray(node?.errors) ? node.errors : []).flatMap((item) => {
      const { type, extra_info: info } = (item ?? {}) as { type?: unknown; extra_info?: { received_value?: unknown } };
      return type === 'value_not_in_list' && typeof info?.received_value === 'string' ? [info.received_value] : [];
    }),
  );
}

/** ComfyUI answered the POST and refused the prompt (a 4xx, node_errors): it did not queue it. */
function isRefusal(error: unknown): boolean {
  return error instanceof ComfyValidationError || (error instanceof ComfyHttpError && error.status >= 400 && error.status < 500);
}

/**
 * ComfyUI's history holds the prompt as ended without an error (what the client's follow then settles
 * as rendered). A history that cannot be read (the backend away, an answer past the bound) says no:
 * following the prompt then copes with it as before.
 */
async function finishedWell(client: BackendLease['client'], promptId: string): Promise<boolean> {
  const entry = await client.history(promptId).catch(() => undefined);
  return !!entry && endedWell(entry);
}
