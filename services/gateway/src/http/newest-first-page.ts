/** Where a row sits in a newest-first list: ordered by `createdAt` desc, then `id` desc. */
export interface NewestFirstKey {
  createdAt: Date;
  id: string;
}

/**
 * The rows after `key` in a newest-first list, whatever the row at `key` is now. Prisma's `cursor` +
 * `skip: 1` skips the first row past the cursor on the assumption that it is the cursor's own row,
 * so a cursor row that left the filter between two pages (a generation no longer `queued`) made the
 * next page silently lose a row that still matched.
 */
export function olderThan(key: NewestFirstKey) {
  return { OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }] };
}

/**
 * A page's filter: `where` alone, or `where` and the rows after the cursor's; `null` for a cursor
 * naming no row, whose page is past the end (empty), as an unknown cursor always was.
 */
export async function pageFilter<W extends object>(
  where: W,
  cursor: string | undefined,
  findKey: (id: string) => Promise<NewestFirstKey | null>,
): Promise<W | { AND: [W, ReturnType<typeof olderThan>] } | null> {
  if (!cursor) return where;
  const key = await findKey(cursor);
  return key ? { AND: [where, olderThan(key)] } : null;
}
