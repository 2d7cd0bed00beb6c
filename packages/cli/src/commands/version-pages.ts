import type { CharacterVersionResource } from '@anime/contracts';
import type { ApiClient } from '../api-client';
import { CliError } from '../cli-error';
import { listQuery } from './list-query';

/**
 * Versions asked for at once. A version as the gateway answers it is up to ~3.4 MB (a definition of
 * up to 1 MiB as JSON, and 200 attributes of up to 2,000 characters, which JSON writes as up to 6
 * bytes each): 16 of them stay within what the CLI reads of one answer (64 MiB), where the route's
 * default page (50) did not. A character's most (1,000) take 63 requests.
 */
export const VERSION_PAGE = 16;

interface VersionPage {
  items: CharacterVersionResource[];
  nextCursor?: string | null;
}

/**
 * Every version of a character (`key`: its slug or id, URL-encoded), oldest first, a page at a time
 * by the route's `nextCursor` until it is null: what is held is one page, not the character's
 * history. A gateway from before the list was paged answers every version and no `nextCursor`: one
 * page. A cursor that does not move past the previous one (not the gateway at --url) is an error,
 * not a walk without end.
 */
export async function* versionPages(api: ApiClient, key: string): AsyncGenerator<CharacterVersionResource[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await api.get<VersionPage>(`/api/v1/characters/${key}/versions?${listQuery({ limit: VERSION_PAGE, cursor })}`);
    yield page.items;
    const next = page.nextCursor ?? null;
    if (next === null) return;
    if (!/^[1-9][0-9]{0,8}$/.test(String(next)) || (cursor !== undefined && Number(next) <= Number(cursor))) {
      throw new CliError(`the version list's nextCursor ${JSON.stringify(next)} does not follow the previous page (${cursor ?? 'the first'}); is --url the gateway?`);
    }
    cursor = String(next);
  }
}
