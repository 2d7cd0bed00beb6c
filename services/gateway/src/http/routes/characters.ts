import { Router } from 'express';
import { findCharacterOr404 } from '@anime/characters';
import { characterListQuerySchema } from '@anime/contracts';
import type { Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { loadCharacterDetail, loadCharacterSummaries } from '../../domain/character-resources';
import { createCharacter } from '../../domain/create-character';
import { createCharacterBodySchema } from '../character-bodies';
import { refuseUnstorableBody } from '../refuse-unstorable-body';
import { jsonBodyOnly } from '../json-body-only';
import { parseOr400 } from '../parse-body';
import { characterBundleRoutes, type CharacterBundleDeps } from './character-bundles';
import { characterReferenceRoutes } from './character-references';
import { characterVersionRoutes } from './character-versions';

const listQuery = characterListQuerySchema;

export interface CharacterRoutesDeps extends CharacterBundleDeps {
  db: Db;
  libraryDir: string;
  referenceMaxBytes: number;
  referenceMaxPixels: number;
}

/** Characters read from the database (never static data). */
export function characterRoutes(deps: CharacterRoutesDeps): Router {
  const router = Router();
  const files = { db: deps.db, storage: new LocalLibraryStorage(deps.libraryDir) };
  router.use(characterBundleRoutes(deps));

  router.get('/', async (req, res) => {
    const query = parseOr400(listQuery, req.query, 'query');
    res.json(await loadCharacterSummaries(deps.db, query));
  });

  router.post('/', jsonBodyOnly, async (req, res) => {
    const body = parseOr400(createCharacterBodySchema, req.body ?? {});
    refuseUnstorableBody(req.body);
    const created = await createCharacter(deps.db, body);
    res.status(201).location(`/api/v1/characters/${created.slug}`).json(await loadCharacterDetail(files, created.id));
  });

  router.get('/:idOrSlug', async (req, res) => {
    const character = await findCharacterOr404(deps.db, req.params.idOrSlug);
    res.json(await loadCharacterDetail(files, character.id));
  });

  // Archiving, never deleting: versions, jobs and assets keep pointing at the character.
  router.delete('/:idOrSlug', async (req, res) => {
    const character = await findCharacterOr404(deps.db, req.params.idOrSlug);
    await deps.db.character.updateMany({ where: { id: character.id, archivedAt: null }, data: { archivedAt: new Date() } });
    res.json(await loadCharacterDetail(files, character.id));
  });

  router.use('/:idOrSlug/versions', characterVersionRoutes(deps));
  router.use('/:idOrSlug/references', characterReferenceRoutes(deps));

  return router;
}
