import type { Db } from '@anime/db';
import { builtInListItems, toWorkflowListItem } from './workflow-resources';

type WorkflowListItem = ReturnType<typeof builtInListItems>[number] | ReturnType<typeof toWorkflowListItem>;

/**
 * A page of `GET /api/v1/workflows`: the built-in templates first, then the registered ones by slug
 * (the slug's unique index gives the order, so a page costs its limit in rows however many slugs a
 * studio registered), `limit` at most, after `cursor`, the slug of the previous page's last
 * template. After a built-in's slug come the built-ins that follow it, then the registered ones from
 * the first; after any other slug, the registered ones past it (a slug that names nothing still
 * places the page). One row more than the page is read to know whether more follow.
 */
export async function loadWorkflowPage(db: Db, query: { limit: number; cursor?: string }): Promise<{ items: WorkflowListItem[]; nextCursor: string | null }> {
  const builtIns = builtInListItems();
  const builtInAt = query.cursor === undefined ? -1 : builtIns.findIndex((b) => b.slug === query.cursor);
  const afterBuiltIn = query.cursor === undefined || builtInAt >= 0;
  const items: WorkflowListItem[] = afterBuiltIn ? builtIns.slice(builtInAt + 1, builtInAt + 2 + query.limit) : [];
  const take = query.limit + 1 - items.length;
  if (take > 0) {
    const stored = await db.workflowTemplate.findMany({
      where: { currentVersion: { gt: 0 }, ...(afterBuiltIn ? {} : { slug: { gt: query.cursor } }) },
      orderBy: { slug: 'asc' },
      take,
    });
    items.push(...stored.map(toWorkflowListItem));
  }
  if (items.length <= query.limit) return { items, nextCursor: null };
  const page = items.slice(0, query.limit);
  return { items: page, nextCursor: page[page.length - 1].slug };
}
