import { generationRequestBodySchema } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { JobLifecycle, MalformedDataError, readConditioning, readWorkflow, type GenerationRow, type JobEventPublisher, type StageHandler } from '@anime/pipeline';
import type { BackendLease } from '../domain/backend-pool';
import { promptIdFor } from '../domain/prompt-id';
import type { CancelRequests } from './cancel-requests';
import { prepareWorkflow, type PrepareWorkflowDeps } from './prepare-workflow';
import { stopCause, stopRender } from './stop-render';

export interface RenderPromptDeps extends PrepareWorkflowDeps {
  db: Db;
  events: JobEventPublisher;
  log: Logger;
  /** JOB_TIMEOUT_S in ms: how long a prompt may take from submission; then it is interrupted and the job fails. */
  jobTimeoutMs?: number;
  /** Cancel requests for the generations this process renders. */
  cancels: CancelRequests;
  /** How long a canceled or timed-out prompt is given to leave the backend (default 15 s). */
  stopGraceMs?: number;
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
      const cancel = deps.cancels.watch(generation.id);
      // A cancel asked for while no process drove it (a lost message, a restart) is in the row.
      if (generation.cancelRequestedAt) deps.cancels.abort(generation.id);
      try {
        return await drive(generation, lease, resumable !== null, signal, cancel.signal);
      } finally {
        cancel.dispose();
        lease.release();
      }
    },
  };

  async function drive(generation: GenerationRow, lease: BackendLease, resume: boolean, signal: AbortSignal | undefined, cancel: AbortSignal) {
    const { url, client } = lease;
    if (cancel.aborted && !resume) {
      // Its backend is gone: nothing to take off.
      await deps.events.publishAll([await lifecycle.cancel(generation.id)]);
      return { outcome: 'canceled' };
    }
    const request = generationRequestBodySchema.parse(generation.request);
    let promptId = generation.promptId!;
    let workflow = resume ? readWorkflow(generation) : undefined;
    if (!workflow) {
      workflow = await prepareWorkflow(deps, { id: generation.id, seed: generation.seed, request, conditioning: readConditioning(generation), characterSlug: generation.character!.slug }, { url, client });
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
    const stop = AbortSignal.any([deadline, cancel, ...(signal ? [signal] : [])]);
    const onProgress = async (p: { value: number; max: number; node: string | null }) => {
      await deps.events.publishAll([await lifecycle.progress(generation.id, p)]);
    };
    try {
      // cancelOnAbort false: stopRender takes the prompt off once and waits for ComfyUI to confirm.
      const result = resume
        ? await client.follow(promptId, { onProgress, signal: stop, cancelOnAbort: false, resubmit: workflow })
        : await client.run(workflow, { promptId, onProgress, signal: stop, cancelOnAbort: false, extraData: { extra_pnginfo: { generation: { jobId: generation.id } } } });
      const rendered = await lifecycle.render(generation.id, { backend: url, promptId, items: result.outputs });
      if (!rendered && (await deps.db.generationJob.count({ where: { id: generation.id, cancelRequestedAt: { not: null } } }))) {
        // Finished anyway after a cancel was asked for: canceled, and nothing is filed.
        await deps.events.publishAll([await lifecycle.cancel(generation.id)]);
        return { outcome: 'canceled; its outputs are not filed' };
      }
    } catch (error) {
      const cause = stopCause({ shutdown: signal, cancel, deadline });
      if (cause) return stopRender({ generationId: generation.id, client, promptId, lifecycle, events: deps.events, log: deps.log, graceMs: deps.stopGraceMs, limitMs }, cause);
      throw error;
    }
    return { outcome: 'rendered', reached: 'rendered' as const };
  }
}
