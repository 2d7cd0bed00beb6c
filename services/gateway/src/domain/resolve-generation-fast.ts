import { buildConditioning, CharacterDomainError, resolveGeneration, type GenerationCharacterRequest } from '@anime/characters';
import { isStorableText, isUuidText, parseCharacterRef, type JobConditioning } from '@anime/contracts';
import { readRows, type Db } from '@anime/db';

const MAX_INT4 = 2_147_483_647;

export interface FastResolution {
  character: { id: string; slug: string };
  version: { id: string; number: number };
  conditioning: JobConditioning;
}

interface Row {
  id: string;
  slug: string;
  archived: boolean;
  versionId: string | null;
  versionNumber: number | null;
  definition: unknown;
  attributes: { key: string; value: unknown }[] | null;
  references: { id: string; label: string; kind: string; sha256: string; path: string; missing: boolean; createdAt: number }[] | null;
}

// The character by id (first) or slug, the version asked for (else its current one) with its
// attributes, and the references a generation uses: unpinned, those attached to the character now;
// pinned (`slug@N`), the ones that version was created with. Dates as epoch ms (see readRows).
// $1 the key as an id (null unless uuid-shaped: an id is looked up first, as findByIdOrSlug does),
// $2 the key as a slug, $3 the pinned version number.
const resolveSql = (pinned: boolean) => `SELECT c.id::text AS id, c.slug, c."archivedAt" IS NOT NULL AS archived,
  v.id::text AS "versionId", v.number AS "versionNumber", v.definition,
  (SELECT json_agg(json_build_object('key', a.key, 'value', a.value) ORDER BY a.key) FROM character_attributes a WHERE a."versionId" = v.id) AS attributes,
  (SELECT json_agg(json_build_object('id', r.id, 'label', r.label, 'kind', r.kind, 'sha256', r.sha256, 'path', r.path, 'missing', r.missing,
     'createdAt', (extract(epoch FROM r."createdAt") * 1000)::float8))
   FROM character_references r
   WHERE ${pinned ? `r.id IN (SELECT vr."referenceId" FROM version_references vr WHERE vr."versionId" = v.id)` : `r."characterId" = c.id AND r."detachedAt" IS NULL`}) AS "references"
FROM characters c
LEFT JOIN character_versions v ON v."characterId" = c.id AND v.number = ${pinned ? '$3::int' : 'c."currentVersion"'}
WHERE c.id = $1::uuid OR c.slug = $2::text
ORDER BY c.id = $1::uuid DESC NULLS LAST LIMIT 1`;
const RESOLVE_CURRENT = { name: 'gateway-resolve-character', text: resolveSql(false) };
const RESOLVE_PINNED = { name: 'gateway-resolve-character-pinned', text: resolveSql(true) };

/**
 * resolveGeneration in one statement for the common request (a live character named by id or slug,
 * a version it has), same answer and same code building the conditioning. Anything else (a display
 * name, an archived character, a missing version, an odd key) goes to resolveGeneration itself,
 * so every refusal keeps its exact code and message.
 */
export async function resolveGenerationFast(db: Db, request: GenerationCharacterRequest): Promise<FastResolution> {
  const { key, version: wanted } = parseCharacterRef(request.character);
  if (!key || !isStorableText(key) || (wanted !== undefined && wanted > MAX_INT4)) return resolveGeneration(db, request);
  const id = isUuidText(key) ? key : null;
  const [row] = await readRows<Row>(db, wanted === undefined ? RESOLVE_CURRENT : RESOLVE_PINNED, wanted === undefined ? [id, key] : [id, key, wanted]);
  if (!row || row.archived || row.versionId === null || row.versionNumber === null) return resolveGeneration(db, request);
  const references = (row.references ?? []).sort((a, b) => a.createdAt - b.createdAt || a.label.localeCompare(b.label));
  const conditioning = buildConditioning({
    // Stored versions were validated against the definition schema when written.
    definition: row.definition as never,
    attributes: row.attributes ?? [],
    outfit: request.outfit,
    userPrompt: request.prompt,
    userNegative: request.negative,
    references,
  });
  if (request.references === 'required' && conditioning.references.length === 0) {
    throw new CharacterDomainError('references_unavailable', `"references": "required" but ${row.slug} version ${row.versionNumber} has no reference images`, {
      character: row.slug,
      version: row.versionNumber,
    });
  }
  return { character: { id: row.id, slug: row.slug }, version: { id: row.versionId, number: row.versionNumber }, conditioning };
}
