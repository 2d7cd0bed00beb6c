/**
 * How many CLI processes a test runs at once for checks that do not depend on each other: each one
 * spends most of its time starting Node, so a few side by side finish well before one after another.
 */
export const CLI_AT_ONCE = 4;

/** Runs `task` on every item, at most `limit` at a time; the results in the items' order (so the checks on them run in that order). */
export async function mapAtMost<T, R>(items: readonly T[], task: (item: T) => Promise<R>, limit = CLI_AT_ONCE): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
