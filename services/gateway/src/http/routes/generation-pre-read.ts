import type { Request, Response } from 'express';
import type { KeyRowFinder } from '@anime/api-keys';
import type { GenerationResource } from '@anime/contracts';
import type { Db } from '@anime/db';
import { keyAndGenerationFinder } from '../../data/find-key-with-generation';
import { generationResourceOf, type GenerationRow } from '../../data/generation-resources';

/** The generation this request read with its key: which id, and its row (undefined: none). */
const PRE_READ = 'generationRead';
type PreRead = { id: string; row: GenerationRow | undefined };
// GET /api/v1/generations/:id as the /api authentication middleware sees it (Express routes ignore
// case and a trailing slash); only a uuid-shaped id, the one text PostgreSQL casts to uuid.
const ONE_GENERATION = /^\/v1\/generations\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i;

/**
 * For the /api authentication middleware: a GET of one generation reads its key and the generation
 * in one statement (kept on the response for generationReadWithKey), the way a client polling a
 * job asks most often; any other request is left to the others. The key is read on every request
 * either way, so revocation stays immediate.
 */
export function keyFinderWithGeneration(db: Db): (req: Request, res: Response) => KeyRowFinder | undefined {
  return (req, res) => {
    const id = req.method === 'GET' ? ONE_GENERATION.exec(req.path)?.[1] : undefined;
    if (id === undefined) return undefined;
    return keyAndGenerationFinder(db, id, (row) => {
      res.locals[PRE_READ] = { id, row } satisfies PreRead;
    });
  };
}

/**
 * Generation `id` as this request read it with its key (keyFinderWithGeneration): its resource, or
 * null when there is none or it lies outside `projects`; undefined when it was not read so.
 */
export function generationReadWithKey(res: Response, id: string, projects: readonly string[] | null): GenerationResource | null | undefined {
  const preRead = res.locals[PRE_READ] as PreRead | undefined;
  if (!preRead || preRead.id !== id) return undefined;
  return generationResourceOf(preRead.row, projects);
}
