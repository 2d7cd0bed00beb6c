import { stageJobId, type GenerationRequestBody, type Priority } from '@anime/contracts';
import { enqueueRequest, ensureStageJob, RECOVERY_GRACE_MS, type ServiceContext } from '@anime/pipeline';

/** Jobs PostgreSQL has as queued and unresolved are put back on `generation-requests`. */
export async function recoverUnresolvedRequests(ctx: ServiceContext): Promise<number> {
  const stranded = await ctx.db.generationJob.findMany({
    where: { status: 'queued', resolvedAt: null, updatedAt: { lt: new Date(Date.now() - RECOVERY_GRACE_MS) } },
    select: { id: true, request: true, priority: true, correlationId: true },
    take: 500,
  });
  let added = 0;
  for (const job of stranded) {
    const body = job.request as GenerationRequestBody;
    const payload = { ...body, priority: job.priority as Priority, schemaVersion: 1 as const, generationId: job.id, correlationId: job.correlationId ?? undefined };
    if (await ensureStageJob(ctx.queues.generationRequests, stageJobId.generationRequests(job.id), () => enqueueRequest(ctx.queues, payload))) added++;
  }
  return added;
}
