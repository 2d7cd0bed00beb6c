import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { JobLifecycle, type JobControlPublisher, type JobEventPublisher, type PipelineQueues } from '@anime/pipeline';
import { ApiError, notFound } from '../http/api-error';
import { boundedHandoff } from './bounded-handoff';

export interface CancelGenerationDeps {
  db: Db;
  events: JobEventPublisher;
  control: JobControlPublisher;
  /** Its stage job, delayed in its queue (a render handed back), is brought forward to end now. */
  queues: Pick<PipelineQueues, 'promoteStage'>;
  log: Logger;
}

/**
 * Cancels a generation. Nothing in a backend (queued, or rendered and awaiting filing): canceled at
 * once. In a backend: the request is recorded in the row and the orchestrator told; it takes the
 * prompt off the backend and applies the cancel once ComfyUI confirms. The gateway never talks to
 * ComfyUI. Repeating is harmless; a completed or failed generation is 409 `not_cancelable`.
 */
export async function cancelGeneration(deps: CancelGenerationDeps, id: string): Promise<void> {
  const lifecycle = new JobLifecycle(deps.db);
  // Each guarded step may lose a race with a stage moving the job on; the next round sees where it went.
  for (let round = 0; round < 5; round++) {
    const job = await deps.db.generationJob.findUnique({ where: { id }, select: { status: true, stage: true } });
    if (!job) throw notFound(`generation ${id}`);
    if (job.status === 'canceled') return;
    if (job.status === 'completed' || job.status === 'failed') {
      throw new ApiError(409, 'not_cancelable', `generation ${id} is ${job.status}; only a queued or running generation can be canceled`, { status: job.status });
    }
    if (job.status === 'running' && job.stage === 'submitted') {
      if (await lifecycle.requestCancel(id)) {
        // Recorded in the row, which the orchestrator driving the render also checks every few seconds.
        await boundedHandoff(deps.control.requestCancel(id), deps.log, 'tell the orchestrators of the cancel', { generationId: id });
        return;
      }
      continue;
    }
    // Refused for a job submitted since it was read: the next round records the request instead.
    const event = await lifecycle.cancelAtOnce(id);
    if (event) {
      await boundedHandoff(deps.events.publish(event), deps.log, 'publish the cancel', { generationId: id });
      // A render handed back to its queue stays delayed up to 15 min: it comes now, finds the generation canceled, and ends.
      await boundedHandoff(deps.queues.promoteStage({ id, stage: job.stage }), deps.log, 'bring the canceled generation\'s queue job forward', { generationId: id });
      return;
    }
  }
  throw new Error(`generation ${id} kept changing state while being canceled`);
}
