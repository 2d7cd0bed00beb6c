import type { GenerationResource } from '@anime/contracts';
import { readRows, type Db } from '@anime/db';
import { toAssetResource, toGenerationResource, type GenerationResourceRow } from '@anime/pipeline';

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

// Generations with their character, version, attempts and assets (with each asset's character
// version), in one statement however many: what loadGenerationResource reads in seven. Dates as
// epoch ms, the seed (bigint) as text (see readRows).
export const generationsSql = (which: string) => `SELECT j.id::text AS id, j.project, j.status::text AS status, j.stage::text AS stage,
  j."progressValue", j."progressMax", j."progressNode", j."errorCode", j."errorMessage", j."errorDetails",
  j.outfit, j.conditioning, j."referenceUse", j.request, j.source, j."requestId", j.seed::text AS seed, j.backend, j."promptId",
  ${ms('j."createdAt"')} AS "createdAt", ${ms('j."startedAt"')} AS "startedAt", ${ms('j."finishedAt"')} AS "finishedAt",
  c.id::text AS "characterId", c.slug AS "characterSlug", c.name AS "characterName", cv.number AS "versionNumber",
  (SELECT json_agg(json_build_object('number', a.number, 'backend', a.backend, 'promptId', a."promptId", 'error', a.error,
     'submittedAt', ${ms('a."submittedAt"')}, 'startedAt', ${ms('a."startedAt"')}, 'finishedAt', ${ms('a."finishedAt"')}) ORDER BY a.number)
   FROM job_attempts a WHERE a."jobId" = j.id) AS attempts,
  (SELECT json_agg(json_build_object('id', s.id, 'jobId', s."jobId", 'sha256', s.sha256, 'width', s.width, 'height', s.height, 'mime', s.mime,
     'bytes', s.bytes, 'path', s.path, 'status', s.status, 'project', s.project, 'episode', s.episode, 'scene', s.scene, 'shot', s.shot,
     'metadata', s.metadata, 'createdAt', ${ms('s."createdAt"')}, 'versionNumber', sv.number, 'characterId', sc.id, 'characterSlug', sc.slug) ORDER BY s."sourceKey")
   FROM assets s JOIN character_versions sv ON sv.id = s."characterVersionId" JOIN characters sc ON sc.id = sv."characterId"
   WHERE s."jobId" = j.id) AS assets
FROM generation_jobs j
LEFT JOIN characters c ON c.id = j."characterId"
LEFT JOIN character_versions cv ON cv.id = j."characterVersionId"
WHERE ${which}`;
const GENERATIONS = { name: 'gateway-generations', text: generationsSql('j.id = ANY($1::uuid[])') };
/**
 * One generation (GET /generations/:id, a cancel's or retry's answer): its own statement, because
 * PostgreSQL planned `= ANY($1)` afresh on every call (a generic plan cannot know the array's
 * length): 0.6 of its 1.0 ms per call; by `= $1`, 0.5 ms in all (pg_stat_statements, 1,000 GETs).
 */
const GENERATION = { name: 'gateway-generation', text: generationsSql('j.id = $1::uuid') };

interface AttemptJson {
  number: number;
  backend: string;
  promptId: string;
  error: unknown;
  submittedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

interface AssetJson {
  id: string;
  jobId: string;
  sha256: string;
  width: number;
  height: number;
  mime: string;
  bytes: number;
  path: string;
  status: string;
  project: string;
  episode: string;
  scene: string;
  shot: string | null;
  metadata: unknown;
  createdAt: number;
  versionNumber: number;
  characterId: string;
  characterSlug: string;
}

/** A row of generationsSql. */
export type GenerationRow = Omit<GenerationResourceRow, 'seed' | 'createdAt' | 'startedAt' | 'finishedAt' | 'character' | 'characterVersion' | 'attempts'> & {
  project: string;
  seed: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  characterId: string | null;
  characterSlug: string | null;
  characterName: string | null;
  versionNumber: number | null;
  attempts: AttemptJson[] | null;
  assets: AssetJson[] | null;
};

const date = (value: number | null) => (value === null ? null : new Date(value));

function toResource(row: GenerationRow): GenerationResource {
  const job: GenerationResourceRow = {
    ...row,
    seed: row.seed === null ? null : BigInt(row.seed),
    createdAt: new Date(row.createdAt),
    startedAt: date(row.startedAt),
    finishedAt: date(row.finishedAt),
    character: row.characterId === null ? null : { id: row.characterId, slug: row.characterSlug!, name: row.characterName! },
    characterVersion: row.versionNumber === null ? null : { number: row.versionNumber },
    attempts: (row.attempts ?? []).map((a) => ({ ...a, error: a.error as GenerationResourceRow['attempts'][number]['error'], submittedAt: new Date(a.submittedAt), startedAt: date(a.startedAt), finishedAt: date(a.finishedAt) })),
  };
  const assets = (row.assets ?? []).map((a) =>
    toAssetResource({ ...a, createdAt: new Date(a.createdAt) } as unknown as Parameters<typeof toAssetResource>[0], {
      number: a.versionNumber,
      character: { id: a.characterId, slug: a.characterSlug },
    }),
  );
  return toGenerationResource(job, assets);
}

/**
 * The resources of these generations, in the order asked, in one statement; an id without a row,
 * or (with `projects`) outside the caller's projects, is left out, as if it did not exist.
 */
export async function readGenerationResources(db: Db, ids: readonly string[], projects: readonly string[] | null = null): Promise<GenerationResource[]> {
  if (!ids.length) return [];
  const rows = await readRows<GenerationRow>(db, GENERATIONS, [ids]);
  const byId = new Map(rows.filter((r) => projects === null || projects.includes(r.project)).map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toResource(row)] : [];
  });
}

/** One generation's resource, null when it does not exist or lies outside `projects`. */
export async function readGenerationResource(db: Db, id: string, projects: readonly string[] | null = null): Promise<GenerationResource | null> {
  const [row] = await readRows<GenerationRow>(db, GENERATION, [id]);
  return generationResourceOf(row, projects);
}

/** The resource of a generationsSql row, null when there is none or it lies outside `projects`. */
export function generationResourceOf(row: GenerationRow | undefined, projects: readonly string[] | null): GenerationResource | null {
  return row && (projects === null || projects.includes(row.project)) ? toResource(row) : null;
}
