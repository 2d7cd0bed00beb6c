import { Prisma } from '@anime/db';
import { stageJobId, type Priority } from '@anime/contracts';
import { enqueueRender, ensureStageJob, RECOVERY_GRACE_MS, type ServiceContext } from '@anime/pipeline';

/** Resolved jobs not yet rendered (queued, or running without recorded outputs) go back on `generation-renders`. */
export async function recoverPendingRenders(ctx: ServiceContext): Promise<number> {
  const stranded = await ctx.db.generationJob.findMany({
    where: {
      updatedAt: { lt: new Date(Date.now() - RECOVERY_GRACE_MS) },
      OR: [{ status: 'queued', resolvedAt: { not: null } }, { status: 'running', outputs: { equals: Prisma.DbNull } }],
    },
    select: { id: true, priority: true, correlationId: true },
    take: 500,
  });
  let added = 0;
  for (const job of stranded) {
    const add = () => enqueueRender(ctx.queues, job.id, job.priority as Priority, job.correlationId ?? undefined);
    if (await ensureStageJob(ctx.queues.generationRenders, stageJobId.generationRenders(job.id), add)) added++;
  }
  return added;
}
