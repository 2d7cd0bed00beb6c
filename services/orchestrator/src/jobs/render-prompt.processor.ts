import { generationRequestBodySchema } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { JobLifecycle, MalformedDataError, PromptTimedOutError, readConditioning, readWorkflow, type GenerationRow, type JobEventPublisher, type StageHandler } from '@anime/pipeline';
import type { BackendLease } from '../domain/backend-pool';
import { promptIdFor } from '../domain/prompt-id';
import { loadTemplate } from './load-template';
import { prepareWorkflow, type PrepareWorkflowDeps } from './prepare-workflow';

export interface RenderPromptDeps extends PrepareWorkflowDeps {
  db: Db;
  events: JobEventPublisher;
  log: Logger;
  /** JOB_TIMEOUT_S in ms: how long a prompt may take from submission; then it is interrupted and the job fails. */
  jobTimeoutMs?: number;
}

const DEFAULT_JOB_TIMEOUT_MS = 600_000;

/**
 * `generation-renders` → builds the workflow, submits it to a backend under a prompt id recorded
 * in PostgreSQL first (stage `submitted`), follows it to the end and records its outputs (stage
 * `rendered`). After a crash the same generation resumes the recorded prompt instead of
 * submitting a second one. The backend is held (leased) while this process drives the prompt, so
 * new jobs go elsewhere first. Faults are thrown; the stage worker decides what they mean.
 */
export function createRenderPromptHandler(deps: RenderPromptDeps): StageHandler<'generationRenders'> {
  const lifecycle = new JobLifecycle(deps.db);

  return {
    run: async (generation, { signal }) => {
      if (!generation.character) throw new MalformedDataError(`generation ${generation.id} has no resolved character`);
      const submitted = generation.stage === 'submitted' && generation.backend && generation.promptId;
      const resumable = submitted ? deps.pool.acquireExisting(generation.backend!) : null;
      const lease = resumable ?? deps.pool.acquire();
      try {
        return await drive(generation, lease, resumable !== null, signal);
      } finally {
        lease.release();
      }
    },
  };

  async function drive(generation: GenerationRow, lease: BackendLease, resume: boolean, signal?: AbortSignal) {
    const { url, client } = lease;
    const request = generationRequestBodySchema.parse(generation.request);
    let promptId = generation.promptId!;
    let workflow = resume ? readWorkflow(generation) : undefined;
    if (!workflow) {
      const conditioning = readConditioning(generation);
      const template = await loadTemplate(deps.db, conditioning);
      workflow = await prepareWorkflow(deps, { id: generation.id, seed: generation.seed, request, conditioning, characterSlug: generation.character!.slug, template }, { url, client });
      promptId = promptIdFor(generation.id, (await deps.db.jobAttempt.count({ where: { jobId: generation.id } })) + 1);
      const attempt = { backend: url, promptId, workflow };
      if (generation.stage === 'resolved') {
        const started = await lifecycle.submit(generation.id, attempt);
        if (!started) return { outcome: 'submitted elsewhere' };
        await deps.events.publish(started);
      } else if (!(await lifecycle.resubmit(generation.id, attempt, 'backend_removed'))) {
        return { outcome: 'resubmitted elsewhere' };
      }
    }

    const limitMs = deps.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    // Counted from the first submission, so a resumed prompt keeps its original deadline.
    const startedAt = resume && generation.startedAt ? generation.startedAt.getTime() : Date.now();
    const deadline = AbortSignal.timeout(Math.max(0, startedAt + limitMs - Date.now()));
    const stop = signal ? AbortSignal.any([signal, deadline]) : deadline;
    const onProgress = async (p: { value: number; max: number; node: string | null }) => {
      await deps.events.publishAll([await lifecycle.progress(generation.id, p)]);
    };
    try {
      const result = resume
        ? await client.follow(promptId, { onProgress, signal: stop, resubmit: workflow })
        : await client.run(workflow, { promptId, onProgress, signal: stop, extraData: { extra_pnginfo: { generation: { jobId: generation.id } } } });
      await lifecycle.render(generation.id, { backend: url, promptId, items: result.outputs });
    } catch (error) {
      if (deadline.aborted && !signal?.aborted) {
        await stopPrompt(client, promptId, deps.log);
        throw new PromptTimedOutError(`timed out after ${Math.round(limitMs / 1000)} s (JOB_TIMEOUT_S); the prompt was interrupted on ${url}`);
      }
      throw error;
    }
    return { outcome: 'rendered', reached: 'rendered' as const };
  }
}

/** Takes a prompt out of the backend whether it still waits in its queue or already runs. */
async function stopPrompt(client: BackendLease['client'], promptId: string, log: Logger): Promise<void> {
  await client.deleteFromQueue([promptId]).catch((error) => log.warn('could not delete the prompt from the backend queue', { promptId, error: (error as Error).message }));
  await client.interrupt(promptId).catch((error) => log.warn('could not interrupt the prompt', { promptId, error: (error as Error).message }));
}
