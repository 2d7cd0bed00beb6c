import { Prisma } from '@anime/db';
import { stageJobId } from '@anime/contracts';
import { enqueueFiling, ensureStageJob, RECOVERY_GRACE_MS, type ServiceContext } from '@anime/pipeline';

/** Running jobs whose outputs are recorded but not filed go back on `asset-filing`. */
export async function recoverPendingFilings(ctx: ServiceContext): Promise<number> {
  const stranded = await ctx.db.generationJob.findMany({
    where: { status: 'running', NOT: { outputs: { equals: Prisma.DbNull } }, updatedAt: { lt: new Date(Date.now() - RECOVERY_GRACE_MS) } },
    select: { id: true, correlationId: true },
    take: 500,
  });
  let added = 0;
  for (const job of stranded) {
    const add = () => enqueueFiling(ctx.queues, job.id, job.correlationId ?? undefined);
    if (await ensureStageJob(ctx.queues.assetFiling, stageJobId.assetFiling(job.id), add)) added++;
  }
  return added;
}
