import type { Db } from '@anime/db';
import { queueDepth } from '../domain/queue-pressure';

// As long as the readiness checks may take: a probe answers quickly even while PostgreSQL hangs.
const COUNT_TIMEOUT_MS = 2_000;

export interface QueuePressure {
  depth: number;
  max: number;
  full: boolean;
}

/** For `/readyz`: how full the queue is. Null when PostgreSQL cannot say in time (the readiness check names why). */
export async function queuePressure(db: Db, maxQueueDepth: number): Promise<QueuePressure | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), COUNT_TIMEOUT_MS);
  });
  const counted = queueDepth(db).then(
    (depth) => ({ depth, max: maxQueueDepth, full: depth >= maxQueueDepth }),
    () => null,
  );
  try {
    return await Promise.race([counted, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
