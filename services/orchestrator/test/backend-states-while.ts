import type { Db } from '@anime/db';

/**
 * Every state the backend's row went through while `during` ran, and every lastError it held
 * meanwhile (distinct, in order; sampled every 100 ms).
 */
export async function backendStatesWhile<T>(db: Db, backendId: string, during: () => Promise<T>): Promise<{ value: T; states: string[]; errors: string[] }> {
  const states: string[] = [];
  const errors: string[] = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const row = await db.backend.findUnique({ where: { id: backendId } });
      if (row && states.at(-1) !== row.state) states.push(row.state);
      if (row?.lastError && !errors.includes(row.lastError)) errors.push(row.lastError);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    return { value: await during(), states, errors };
  } finally {
    watching = false;
    await watch;
  }
}
