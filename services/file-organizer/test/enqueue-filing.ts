import { PIPELINE_CATALOG, PRIORITY_RANK, type Priority } from '@anime/contracts';
import type { CreatedJob, PipelineQueues } from '@anime/pipeline';

export interface EnqueueFilingOptions {
  /**
   * The filing job's tries keep their number (five) but back off from this many ms instead of the
   * catalog's 1 s (1 s, 2 s, 4 s, 8 s: some 15 s in all), so a test sees them all spent, or not, in
   * a fraction of a second.
   */
  triesBackoffMs?: number;
  /** As the gateway's retry does: an earlier run's finished job under the same id removed first. */
  replaceFinished?: boolean;
}

/**
 * Queues a generation's filing job as the orchestrator hands it on (enqueueStage); with
 * `triesBackoffMs`, as enqueueStage adds it (the queue's defaults, the catalog's id), its backoff
 * alone shortened.
 */
export async function enqueueFiling(queues: PipelineQueues, job: CreatedJob, { triesBackoffMs, replaceFinished = false }: EnqueueFilingOptions = {}): Promise<void> {
  if (!triesBackoffMs) {
    await queues.enqueueStage({ ...job, stage: 'rendered' }, { replaceFinished });
    return;
  }
  const entry = PIPELINE_CATALOG.assetFiling;
  const queue = queues.byKey.assetFiling;
  const payload = { schemaVersion: 1 as const, generationId: job.id, ...(job.correlationId ? { correlationId: job.correlationId } : {}) };
  const jobId = entry.jobId(payload);
  const finished = replaceFinished ? await queue.getJob(jobId!) : undefined;
  if (finished && ['completed', 'failed'].includes(await finished.getState())) await finished.remove();
  await queue.add(entry.jobName, payload, { jobId, priority: PRIORITY_RANK[job.priority as Priority], backoff: { type: 'exponential', delay: triesBackoffMs } });
}
