import { PIPELINE_CATALOG, type QueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { ACTIVE_STATES } from './transitions';

/** Unfinished generations at one of `queue`'s stages that nothing touched since `before`. */
export function findStranded(db: Db, queue: QueueKey, before: Date, take = 500) {
  const stages = PIPELINE_CATALOG[queue].stages as readonly string[];
  const states = ACTIVE_STATES.filter((s) => stages.includes(s.stage));
  return db.generationJob.findMany({
    where: { updatedAt: { lt: before }, OR: states.map((s) => ({ status: s.status, stage: s.stage })) },
    select: { id: true, stage: true, priority: true, correlationId: true },
    orderBy: { updatedAt: 'asc' },
    take,
  });
}
