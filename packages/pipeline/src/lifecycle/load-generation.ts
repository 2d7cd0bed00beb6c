import { readRows, type Db, type GenerationJob, type Statement } from '@anime/db';
import { jobColumns } from './lifecycle-sql';

/** A generation's row as every stage reads it: the row decides what a stage does. Its `workflow` is its latest attempt's graph (null before the first). */
export type GenerationRow = GenerationJob & {
  character: { id: string; slug: string; name: string } | null;
  characterVersion: { id: string; number: number } | null;
};

/**
 * The graph the generation's latest attempt sent (job_attempts.workflow, its one stored copy). The
 * job's own column only for a row from before attempts recorded theirs (20261128140000_attempt_workflow):
 * its latest attempt has none, and the job's column holds that attempt's graph.
 */
const latestAttemptWorkflow = (alias: string) =>
  `COALESCE((SELECT a.workflow FROM job_attempts a WHERE a."jobId" = ${alias}.id ORDER BY a.number DESC LIMIT 1), ${alias}.workflow) AS "workflow"`;

/**
 * The SELECT of a GenerationRow from `from`, a source of generation_jobs rows named `alias` (the table,
 * or a CTE with its columns), with `extra` columns after the job's (`, alias.x`).
 */
export const generationRowSelect = (alias: string, from: string, extra = '') => `SELECT ${jobColumns(alias, { workflow: latestAttemptWorkflow(alias) })}${extra},
  CASE WHEN c.id IS NULL THEN NULL ELSE json_build_object('id', c.id, 'slug', c.slug, 'name', c.name) END AS character,
  CASE WHEN v.id IS NULL THEN NULL ELSE json_build_object('id', v.id, 'number', v.number) END AS "characterVersion"
FROM ${from}
LEFT JOIN characters c ON c.id = ${alias}."characterId"
LEFT JOIN character_versions v ON v.id = ${alias}."characterVersionId"`;

// What `findUnique({ include: { character: { select: { id, slug, name } }, characterVersion: { select: { id, number } } } })`
// returned, in one statement on the pool instead of three through Prisma's interpreter.
const LOAD: Statement = {
  name: 'lifecycle-load-generation',
  text: `${generationRowSelect('j', 'generation_jobs j')}
WHERE j.id = $1::uuid`,
};

/** A generation's row with its character and version; null when there is none. */
export async function loadGeneration(db: Db, id: string): Promise<GenerationRow | null> {
  const [row] = await readRows<GenerationRow>(db, LOAD, [id]);
  return row ?? null;
}
