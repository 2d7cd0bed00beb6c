import { PIPELINE_CATALOG, type QueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { ACTIVE_STATES } from './transitions';

/** Where the previous page of `findStranded` ended: its last row. */
export interface StrandedCursor {
  updatedAt: Date;
  id: string;
}

/**
 * One page of the unfinished generations at one of `queue`'s stages that nothing touched since
 * `before`, oldest first; pass the last row of a page as `after` for the next one.
 */
export function findStranded(db: Db, queue: QueueKey, before: Date, take = 500, after?: StrandedCursor) {
  const stages = PIPELINE_CATALOG[queue].stages as readonly string[];
  const states = ACTIVE_STATES.filter((s) => stages.includes(s.stage));
  return db.generationJob.findMany({
    where: {
      updatedAt: { lt: before },
      OR: states.map((s) => ({ status: s.status, stage: s.stage })),
      ...(after ? { AND: [{ OR: [{ updatedAt: { gt: after.updatedAt } }, { updatedAt: after.updatedAt, id: { gt: after.id } }] }] } : {}),
    },
    select: { id: true, stage: true, priority: true, correlationId: true, updatedAt: true },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take,
  });
}
