import { PIPELINE_CATALOG, type QueueKey } from '@anime/contracts';
import type { Db } from '@anime/db';
import { ACTIVE_STATES } from './transitions';

/** Where the previous page of `findStranded` ended: its last row. */
export interface StrandedCursor {
  updatedAt: Date;
  id: string;
}

/**
 * Generations canceled awaiting filing after a filing try claimed them: that try may have written
 * files and been killed before recording them, and with its queue job lost (a Redis restart) nothing
 * else comes to remove them. Their filing job's admission settles them (removes what no Asset
 * records, and the claim with it), so each is swept once. (A failed one is not: a fresh filing job
 * would re-open it; the file-organizer's own sweep of failed filings removes what one left.)
 */
const UNSETTLED_FILING = { status: 'canceled' as const, stage: 'rendered' as const, filingToken: { not: null } };

/**
 * One page of the unfinished generations at one of `queue`'s stages that nothing touched since
 * `before`, oldest first, and of the ended ones whose filing is unsettled when the queue files;
 * pass the last row of a page as `after` for the next one.
 */
export function findStranded(db: Db, queue: QueueKey, before: Date, take = 500, after?: StrandedCursor) {
  const stages = PIPELINE_CATALOG[queue].stages as readonly string[];
  const states = ACTIVE_STATES.filter((s) => stages.includes(s.stage));
  return db.generationJob.findMany({
    where: {
      updatedAt: { lt: before },
      OR: [...states.map((s) => ({ status: s.status, stage: s.stage })), ...(stages.includes('rendered') ? [UNSETTLED_FILING] : [])],
      ...(after ? { AND: [{ OR: [{ updatedAt: { gt: after.updatedAt } }, { updatedAt: after.updatedAt, id: { gt: after.id } }] }] } : {}),
    },
    select: { id: true, stage: true, priority: true, correlationId: true, updatedAt: true },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take,
  });
}
