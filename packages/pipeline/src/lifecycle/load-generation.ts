import type { Db } from '@anime/db';

const GENERATION_INCLUDE = {
  character: { select: { id: true, slug: true, name: true } },
  characterVersion: { select: { id: true, number: true } },
} as const;

/** A generation's row as every stage reads it: the row decides what a stage does. */
export function loadGeneration(db: Db, id: string) {
  return db.generationJob.findUnique({ where: { id }, include: GENERATION_INCLUDE });
}

export type GenerationRow = NonNullable<Awaited<ReturnType<typeof loadGeneration>>>;
