import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '@anime/db';
import { loadCharacterDetail, loadCharacterSummaries } from '../../domain/character-resources';
import { findCharacterOr404 } from '../../domain/find-character';
import { parseOr400 } from '../parse-body';

const listQuery = z.object({
  q: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().uuid().optional(),
  archived: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

/** Characters read from the database (never static data). */
export function characterRoutes(deps: { db: Db }): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = parseOr400(listQuery, req.query, 'query');
    res.json(await loadCharacterSummaries(deps.db, query));
  });

  router.get('/:idOrSlug', async (req, res) => {
    const character = await findCharacterOr404(deps.db, req.params.idOrSlug);
    res.json(await loadCharacterDetail(deps.db, character.id));
  });

  return router;
}
