import { UnrecoverableError } from 'bullmq';
import { ComfyExecutionError, ComfyValidationError } from '@anime/comfyui-client';
import type { GenerationRenderPayload } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { enqueueFiling, JobStore, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import type { BackendLease } from '../domain/backend-pool';
import type { Workflow } from '../domain/build-workflow';
import { ReferenceUnavailableError } from '../domain/reference-stager';
import { promptIdFor } from '../domain/prompt-id';
import { prepareWorkflow, type PrepareWorkflowDeps } from './prepare-workflow';

export interface RenderPromptDeps extends PrepareWorkflowDeps {
  db: Db;
  queues: PipelineQueues;
  events: JobEventPublisher;
  log: Logger;
  /** JOB_TIMEOUT_S in ms: how long a prompt may take from submission; then it is interrupted and the job fails. */
  jobTimeoutMs?: number;
}

const DEFAULT_JOB_TIMEOUT_MS = 600_000;

const loadJob = (db: Db, id: string) => db.generationJob.findUnique({ where: { id }, include: { character: { select: { slug: true } } } });
type ResolvedJob = NonNullable<Awaited<ReturnType<typeof loadJob>>> & { character: { slug: string } };

/**
 * `generation-renders` → builds the workflow, submits it to a backend under a prompt id recorded
 * in PostgreSQL first, follows it to the end and hands the outputs to the file-organizer.
 * After a crash the same message resumes the recorded prompt instead of submitting a second one.
 * The backend is held (leased) while this process drives the prompt, so new jobs go elsewhere first.
 */
export function createRenderPromptProcessor(deps: RenderPromptDeps) {
  const store = new JobStore(deps.db);

  return async function renderPrompt(payload: GenerationRenderPayload, signal?: AbortSignal) {
    const job = await loadJob(deps.db, payload.generationId);
    if (!job) throw new UnrecoverableError(`generation ${payload.generationId} does not exist`);
    if (job.status !== 'queued' && job.status !== 'running') return { outcome: `already ${job.status}` };
    if (!job.resolvedAt || !job.conditioning || !job.character) throw new Error(`generation ${job.id} is not resolved yet`);
    if (job.outputs) {
      await enqueueFiling(deps.queues, job.id, payload.correlationId);
      return { outcome: 'outputs already recorded' };
    }

    const resumable = job.status === 'running' && job.backend && job.promptId && job.workflow ? deps.pool.acquireExisting(job.backend) : null;
    const lease = resumable ?? deps.pool.acquire();
    try {
      return await drive({ ...job, character: job.character }, lease, resumable !== null, payload, signal);
    } finally {
      lease.release();
    }
  };

  async function drive(job: ResolvedJob, lease: BackendLease, resume: boolean, payload: GenerationRenderPayload, signal?: AbortSignal) {
    const { url, client } = lease;
    let promptId: string;
    let workflow: Workflow;
    if (resume) {
      promptId = job.promptId!;
      workflow = job.workflow as unknown as Workflow;
    } else {
      try {
        workflow = await prepareWorkflow(deps, { ...job, characterSlug: job.character.slug }, { url, client });
      } catch (error) {
        if (!(error instanceof ReferenceUnavailableError)) throw error;
        await deps.events.publishAll([await store.markFailed(job.id, { code: 'reference_unavailable', message: error.message, details: error.details })]);
        return { outcome: 'failed: reference unavailable' };
      }
      const attempt = (await deps.db.jobAttempt.count({ where: { jobId: job.id } })) + 1;
      promptId = promptIdFor(job.id, attempt);
      await deps.db.generationJob.updateMany({ where: { id: job.id, status: { in: ['queued', 'running'] } }, data: { workflow: workflow as object } });
      const started = job.status === 'queued' ? await store.markStarted(job.id, { backend: url, promptId }) : await restartAttempt(deps.db, job.id, url, promptId);
      if (!started) return { outcome: 'started elsewhere' };
      if (started !== true) await deps.events.publish(started);
    }

    const limitMs = deps.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    // Counted from the first submission, so a resumed prompt keeps its original deadline.
    const startedAt = resume && job.startedAt ? job.startedAt.getTime() : Date.now();
    const deadline = AbortSignal.timeout(Math.max(0, startedAt + limitMs - Date.now()));
    const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const onProgress = async (p: { value: number; max: number; node: string | null }) => {
        await deps.events.publishAll([await store.recordProgress(job.id, p)]);
      };
      const result = resume
        ? await client.follow(promptId, { onProgress, signal: stop, resubmit: workflow })
        : await client.run(workflow, { promptId, onProgress, signal: stop, extraData: { extra_pnginfo: { generation: { jobId: job.id } } } });
      await store.recordOutputs(job.id, { backend: url, promptId, items: result.outputs });
    } catch (error) {
      if (deadline.aborted && !signal?.aborted) {
        await stopPrompt(client, promptId, deps.log);
        const message = `timed out after ${Math.round(limitMs / 1000)} s (JOB_TIMEOUT_S); the prompt was interrupted on ${url}`;
        await deps.events.publishAll([await store.markFailed(job.id, { code: 'timeout', message })]);
        return { outcome: 'failed: timeout' };
      }
      if (error instanceof ComfyValidationError) {
        await deps.events.publishAll([await store.markFailed(job.id, { code: 'comfyui_validation', message: error.summary, details: error.body })]);
        return { outcome: 'failed: validation' };
      }
      if (error instanceof ComfyExecutionError) {
        await deps.events.publishAll([await store.markFailed(job.id, { code: 'comfyui_execution', message: error.message, details: error.details })]);
        return { outcome: 'failed: execution' };
      }
      throw error;
    }
    await enqueueFiling(deps.queues, job.id, payload.correlationId);
    return { outcome: 'rendered' };
  }
}

/** Takes a prompt out of the backend whether it still waits in its queue or already runs. */
async function stopPrompt(client: BackendLease['client'], promptId: string, log: Logger): Promise<void> {
  await client.deleteFromQueue([promptId]).catch((error) => log.warn('could not delete the prompt from the backend queue', { promptId, error: (error as Error).message }));
  await client.interrupt(promptId).catch((error) => log.warn('could not interrupt the prompt', { promptId, error: (error as Error).message }));
}

/** A running job whose backend vanished from the config gets a new attempt on another one. */
async function restartAttempt(db: Db, jobId: string, backend: string, promptId: string): Promise<true | null> {
  return db.$transaction(async (tx) => {
    const changed = await tx.generationJob.updateMany({ where: { id: jobId, status: 'running' }, data: { backend, promptId } });
    if (!changed.count) return null;
    await tx.jobAttempt.updateMany({ where: { jobId, finishedAt: null }, data: { finishedAt: new Date(), error: { code: 'backend_removed', message: 'backend no longer configured' } } });
    const number = (await tx.jobAttempt.count({ where: { jobId } })) + 1;
    await tx.jobAttempt.create({ data: { jobId, number, backend, promptId } });
    return true;
  });
}
