import { Router } from 'express';
import { z } from 'zod';
import { attributesRecord, CharacterDomainError, createVersion, diffVersions, findCharacterOr404, findLiveCharacterOr404, type VersionWithAttributes } from '@anime/characters';
import { characterVersionListQuerySchema } from '@anime/contracts';
import type { Db } from '@anime/db';
import { toVersionResource } from '../../domain/character-resources';
import { isVersionPatchBody, versionBodySchema } from '../character-bodies';
import { refuseUnstorableBody } from '../refuse-unstorable-body';
import { characterParam } from '../character-param';
import { jsonBodyOnly } from '../json-body-only';
import { parseOr400 } from '../parse-body';
import { sendItemsInBatches } from '../send-items-in-batches';
import { versionFromPatch } from '../version-from-patch';

/** Versions read and sent at once by the list: at most a few MB in memory, whatever the page holds. */
const VERSION_BATCH = 10;

const versionNumber = z.string().regex(/^[1-9]\d{0,8}$/, 'must be a version number (1, 2, ...)').transform(Number);

/**
 * Versions are append-only: there is deliberately no PUT, PATCH or DELETE here, and the
 * database refuses UPDATE and DELETE on versions, their attributes and reference links.
 */
export function characterVersionRoutes(deps: { db: Db }): Router {
  const router = Router({ mergeParams: true });

  const loadVersion = async (characterId: string, slug: string, raw: string, param: string) => {
    const number = parseOr400(z.object({ [param]: versionNumber }), { [param]: raw }, 'version number')[param];
    const version = await deps.db.characterVersion.findUnique({
      where: { characterId_number: { characterId, number } },
      include: { attributes: true },
    });
    if (!version) throw new CharacterDomainError('version_not_found', `character ${slug} has no version ${number}`, { slug, version: number });
    return version;
  };

  // A page of versions, oldest first, after the cursor's number (the (characterId, number) key gives
  // the order, so a page deep in a character's history reads its own rows only). Each version is up to
  // ~1 MB, so even a page is read and sent in batches.
  router.get('/', async (req, res) => {
    const query = parseOr400(characterVersionListQuerySchema, req.query, 'query');
    const character = await findCharacterOr404(deps.db, characterParam(req));
    const after = (last: VersionWithAttributes | null) => last?.number ?? query.cursor;
    await sendItemsInBatches(res, {
      batchSize: VERSION_BATCH,
      nextBatch: (last: VersionWithAttributes | null, take: number) => {
        const past = after(last);
        return deps.db.characterVersion.findMany({
          where: { characterId: character.id, ...(past !== undefined ? { number: { gt: past } } : {}) },
          orderBy: { number: 'asc' },
          take,
          include: { attributes: true },
        });
      },
      toJson: toVersionResource,
      page: { limit: query.limit, cursorOf: (version) => String(version.number) },
    });
  });

  router.post('/', jsonBodyOnly, async (req, res) => {
    const character = await findLiveCharacterOr404(deps.db, characterParam(req));
    // Either a full version, or `{ basedOn, patch }`: a JSON Merge Patch of an earlier one.
    const body = isVersionPatchBody(req.body) ? await versionFromPatch(deps.db, character, req.body) : parseOr400(versionBodySchema, req.body ?? {});
    refuseUnstorableBody(req.body);
    const version = await createVersion(deps.db, character.id, body);
    res.status(201).location(`/api/v1/characters/${character.slug}/versions/${version.number}`).json(toVersionResource(version));
  });

  router.get('/:number', async (req, res) => {
    const character = await findCharacterOr404(deps.db, characterParam(req));
    res.json(toVersionResource(await loadVersion(character.id, character.slug, req.params.number, 'number')));
  });

  router.get('/:from/diff/:to', async (req, res) => {
    const character = await findCharacterOr404(deps.db, characterParam(req));
    const from = await loadVersion(character.id, character.slug, req.params.from, 'from');
    const to = await loadVersion(character.id, character.slug, req.params.to, 'to');
    const changes = diffVersions(
      { definition: from.definition, attributes: attributesRecord(from.attributes) },
      { definition: to.definition, attributes: attributesRecord(to.attributes) },
    );
    res.json({ from: from.number, to: to.number, changes });
  });

  return router;
}
