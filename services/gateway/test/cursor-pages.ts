import type { jsonClient } from './http-client';

/** A list page as the gateway answers it: its items, and the cursor of the next page (null on the last). */
export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Walks a paged list by its cursors from `firstPage` (a path with its query, e.g. `...?limit=50`),
 * expecting each answer 200; what `pick` takes of each page, page by page. Stops after `maxPages`
 * pages, so a list that never ends fails the test's expectations instead of hanging it.
 */
export async function walkCursorPages<T, P>(api: ReturnType<typeof jsonClient>, firstPage: string, pick: (page: CursorPage<T>) => P[], maxPages = 10): Promise<P[][]> {
  const pages: P[][] = [];
  let cursor: string | null = null;
  do {
    const response = await api.get(`${firstPage}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.status).toBe(200);
    const page = response.body as CursorPage<T>;
    pages.push(pick(page));
    cursor = page.nextCursor;
  } while (cursor && pages.length < maxPages);
  return pages;
}

/** The version numbers a page of versions holds, in its order. */
export const versionNumbers = (page: CursorPage<{ number: number }>) => page.items.map((v) => v.number);

/** The whole numbers from `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Queries a version list (its cursor a version number) refuses with 400, and the parameter each names. */
export const BAD_VERSION_PAGE_QUERIES: [query: string, field: string][] = [
  ['limit=0', 'limit'],
  ['limit=201', 'limit'],
  ['limit=abc', 'limit'],
  ['limit=1e2', 'limit'],
  ['limit=5&limit=6', 'limit'],
  ['cursor=abc', 'cursor'],
  ['cursor=0', 'cursor'],
  ['cursor=-1', 'cursor'],
  ['cursor=1.5', 'cursor'],
  ['cursor=1000000000', 'cursor'],
  ['cursor=3fa85f64-5717-4562-b3fc-2c963f66afa6', 'cursor'],
];
