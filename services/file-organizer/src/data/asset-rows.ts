import { randomUUID } from 'node:crypto';
import type { Db } from '@anime/db';

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

// Raw SQL: one statement each per filed output, without Prisma's query interpreter on the hot path.

/** The asset an earlier filing of this output recorded, if any. */
export async function findFiledOutput(db: Db, jobId: string, sourceKey: string): Promise<AssetRow | null> {
  const rows = await db.$queryRaw<AssetRow[]>`
    SELECT id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, status, project, episode, scene, shot, metadata, "createdAt"
    FROM assets WHERE "jobId" = ${jobId}::uuid AND "sourceKey" = ${sourceKey}`;
  return rows[0] ?? null;
}

/**
 * Records a filed output, keyed by (job, output): filing it again updates what the bytes say and
 * keeps the path and metadata of the first record.
 */
export async function recordFiledOutput(db: Db, output: FiledOutput): Promise<AssetRow> {
  const o = output;
  const rows = await db.$queryRaw<AssetRow[]>`
    INSERT INTO assets (id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, project, episode, scene, shot, metadata, "createdAt")
    VALUES (${randomUUID()}::uuid, ${o.jobId}::uuid, ${o.characterVersionId}::uuid, ${o.sourceKey}, ${o.path}, ${o.sha256}, ${o.bytes}, ${o.width}, ${o.height}, ${o.mime},
            ${o.project}, ${o.episode}, ${o.scene}, ${o.shot}, ${JSON.stringify(o.metadata)}::jsonb, timezone('UTC', now()))
    ON CONFLICT ("jobId", "sourceKey") DO UPDATE SET sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes, width = EXCLUDED.width, height = EXCLUDED.height, mime = EXCLUDED.mime
    RETURNING id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, status, project, episode, scene, shot, metadata, "createdAt"`;
  return rows[0];
}
