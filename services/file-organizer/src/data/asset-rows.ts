import { randomUUID } from 'node:crypto';
import { readRows, runStatement, SQL_NOW, type Db, type Statement } from '@anime/db';

/** An `assets` row, as Prisma types it. */
export type AssetRow = NonNullable<Awaited<ReturnType<Db['asset']['findFirst']>>>;

export interface FiledOutput {
  jobId: string;
  characterVersionId: string;
  sourceKey: string;
  path: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  mime: string;
  project: string;
  episode: string;
  scene: string;
  shot: string | null;
  metadata: object;
}

// Named statements, one each per filed output, without Prisma's query interpreter on the hot path.

const ASSET_COLUMNS = `id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, status, project, episode, scene, shot, metadata, "createdAt"`;

const FIND_FILED: Statement = {
  name: 'assets.find-filed',
  text: `SELECT ${ASSET_COLUMNS} FROM assets WHERE "jobId" = $1::uuid AND "sourceKey" = $2`,
};

// $16 the filing try's token: only the try that owns the job's filing records (the row locked, as
// the claim and holdFiling lock it, so a claim never interleaves with a record).
const RECORD_FILED: Statement = {
  name: 'assets.record-filed',
  text: `WITH j AS MATERIALIZED (SELECT id FROM generation_jobs WHERE id = $2::uuid AND "filingToken" IS NOT DISTINCT FROM $16::uuid FOR UPDATE)
    INSERT INTO assets (id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, project, episode, scene, shot, metadata, "createdAt")
    SELECT $1::uuid, j.id, $3::uuid, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, ${SQL_NOW} FROM j
    ON CONFLICT ("jobId", "sourceKey") DO UPDATE SET sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes, width = EXCLUDED.width, height = EXCLUDED.height, mime = EXCLUDED.mime
    RETURNING ${ASSET_COLUMNS}`,
};

/**
 * The row `output` becomes when it is recorded fresh (what RECORD_FILED would insert), made here so
 * the job:completed event can name it in the statement that inserts it.
 */
export function newAssetRow(output: FiledOutput): AssetRow {
  const o = output;
  return {
    id: randomUUID(), jobId: o.jobId, characterVersionId: o.characterVersionId, sourceKey: o.sourceKey, path: o.path, sha256: o.sha256, bytes: o.bytes,
    width: o.width, height: o.height, mime: o.mime, status: 'active', project: o.project, episode: o.episode, scene: o.scene, shot: o.shot,
    metadata: o.metadata as AssetRow['metadata'],
    // Milliseconds, as the timestamp(3) column keeps it.
    createdAt: new Date(),
  };
}

/** The asset an earlier filing of this output recorded, if any. */
export async function findFiledOutput(db: Db, jobId: string, sourceKey: string): Promise<AssetRow | null> {
  const rows = await readRows<AssetRow>(db, FIND_FILED, [jobId, sourceKey]);
  return rows[0] ?? null;
}

/**
 * Records a filed output, keyed by (job, output): filing it again updates what the bytes say and
 * keeps the path and metadata of the first record. Null, recording nothing, when the try `token`
 * names no longer owns the job's filing.
 */
export async function recordFiledOutput(db: Db, output: FiledOutput, token: string): Promise<AssetRow | null> {
  const o = output;
  const rows = await runStatement<AssetRow>(db, RECORD_FILED, [
    randomUUID(), o.jobId, o.characterVersionId, o.sourceKey, o.path, o.sha256, o.bytes, o.width, o.height, o.mime,
    o.project, o.episode, o.scene, o.shot, JSON.stringify(o.metadata), token,
  ]);
  return rows[0] ?? null;
}
