import path from 'node:path';
import { Router } from 'express';
import { z } from 'zod';
import { assetListQuerySchema, parseCharacterFilter } from '@anime/contracts';
import type { Db } from '@anime/db';
import { toAssetResource } from '@anime/pipeline';
import { notFound, ApiError } from '../api-error';
import { callerOf, type Caller } from '../auth/caller';
import { projectScope, reachesProject } from '../auth/project-access';
import { characterVersionsNamed } from '../character-versions-named';
import { attachmentHeader } from '../download-name';
import { pageFilter } from '../keyset-page';
import { libraryFileUnreadable } from '../library-file-unreadable';
import { parseOr400 } from '../parse-body';
import { sendLibraryFile } from '../send-library-file';

const idParam = z.string().uuid('must be an asset id (uuid)');
/** What sendFile fails with where no file stands at an asset's path. */
const NO_FILE = ['ENOENT', 'ENOTDIR', 'EISDIR'];
const INCLUDE = { characterVersion: { select: { number: true, character: { select: { id: true, slug: true } } } } } as const;

export function assetRoutes(deps: { db: Db; libraryDir: string }): Router {
  const router = Router();
  const root = path.resolve(deps.libraryDir);

  const load = async (rawId: string, caller: Caller) => {
    const id = parseOr400(idParam, rawId, 'asset id', 'id');
    const asset = await deps.db.asset.findUnique({ where: { id }, include: INCLUDE });
    // Outside the caller's projects reads as absent: 404, not 403, so ids cannot be probed.
    if (!asset || !reachesProject(caller, asset.project)) throw notFound(`asset ${id}`);
    return asset;
  };

  router.get('/', async (req, res) => {
    const query = parseOr400(assetListQuerySchema, req.query, 'query');
    // The character's versions are looked up first and the list filtered by their ids, which the
    // (characterVersionId, createdAt, id) index serves; filtered through a join, a character with
    // few assets was found by walking every asset of the library, newest first.
    // `character=kai@2` is `character=kai&version=2` (the schema refuses the two disagreeing).
    const character = query.character ? parseCharacterFilter(query.character) : undefined;
    const version = query.version ?? character?.version;
    const versionIds = character || version ? (await characterVersionsNamed(deps.db, character?.idOrSlug, version)).map((v) => v.id) : null;
    if (versionIds && !versionIds.length) return void res.json({ items: [], nextCursor: null });
    const where = {
      ...projectScope(callerOf(res)),
      // Under AND: the key's project scope already holds the `project` key.
      ...(query.project ? { AND: [{ project: query.project }] } : {}),
      ...(query.episode ? { episode: query.episode } : {}),
      ...(query.scene ? { scene: query.scene } : {}),
      ...(query.shot ? { shot: query.shot } : {}),
      ...(versionIds ? { characterVersionId: { in: versionIds } } : {}),
    };
    // A cursor outside the caller's projects reads as an unknown one (an empty page), as in the generation list.
    const filter = await pageFilter(where, query.cursor, (id) => deps.db.asset.findFirst({ where: { id, ...projectScope(callerOf(res)) }, select: { createdAt: true, id: true } }));
    if (!filter) return void res.json({ items: [], nextCursor: null });
    const rows = await deps.db.asset.findMany({ where: filter, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: query.limit + 1, include: INCLUDE });
    const page = rows.slice(0, query.limit);
    res.json({ items: page.map((asset) => toAssetResource(asset, asset.characterVersion)), nextCursor: rows.length > query.limit ? page[page.length - 1].id : null });
  });

  router.get('/:id', async (req, res) => {
    const asset = await load(req.params.id, callerOf(res));
    res.json(toAssetResource(asset, asset.characterVersion));
  });

  router.get('/:id/file', async (req, res) => {
    const asset = await load(req.params.id, callerOf(res));
    const absolute = path.resolve(root, asset.path);
    if (!absolute.startsWith(root + path.sep)) throw new ApiError(409, 'asset_path_invalid', 'asset path lies outside the library');
    res.setHeader('ETag', `"${asset.sha256}"`);
    res.setHeader('Content-Disposition', attachmentHeader(path.basename(asset.path), `asset-${asset.id}`));
    res.type(asset.mime);
    // Bounded: a file not answering (a hung mount) is LibraryNotAnsweringError, passed on as it is.
    await sendLibraryFile(res, absolute, asset.path).catch((error: unknown) => {
      // Nothing at its path, a folder there (EISDIR), or a file where one of its folders goes (ENOTDIR).
      if (NO_FILE.includes((error as NodeJS.ErrnoException).code ?? '')) throw new ApiError(410, 'asset_file_missing', `the file of asset ${asset.id} is missing from the library`);
      throw libraryFileUnreadable(error, `the file of asset ${asset.id}`) ?? error;
    });
  });

  return router;
}
