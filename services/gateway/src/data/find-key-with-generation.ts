import type { KeyRowFinder } from '@anime/api-keys';
import { readRows, type Db } from '@anime/db';
import { KEY_COLUMNS, toKeyRow, type KeyColumns } from './find-key-row';
import { generationsSql, type GenerationRow } from './generation-resources';

// The key by its hash ($1) with the generation $2 (all its columns null when there is none): a
// GET /generations/:id's key lookup and read in one statement. No column of the generation is
// named like a key column (KEY_COLUMNS are all "key…").
const KEY_AND_GENERATION = {
  name: 'gateway-key-and-generation',
  text: `SELECT ${KEY_COLUMNS}, g.* FROM api_keys k LEFT JOIN LATERAL (${generationsSql('j.id = $2::uuid')}) g ON true WHERE k."keyHash" = $1`,
};

/**
 * The key lookup of a request that reads generation `id` (a uuid) next: the same row as
 * keyRowFinder, and the generation's row (undefined when there is none) handed to `keep` when the
 * key exists. The key is still read on every request, so revocation stays immediate; the caller
 * decides what of the generation its key may see.
 */
export function keyAndGenerationFinder(db: Db, id: string, keep: (row: GenerationRow | undefined) => void): KeyRowFinder {
  return async (keyHash) => {
    const [row] = await readRows<KeyColumns & Partial<GenerationRow>>(db, KEY_AND_GENERATION, [keyHash, id]);
    if (row && row.keyId !== null) keep(row.id ? (row as GenerationRow) : undefined);
    return toKeyRow(row);
  };
}
