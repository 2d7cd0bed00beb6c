/** How deep a JSON value accepted from outside may nest: far beyond any real definition or graph. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a parsed JSON value nests deeper than `max` arrays and objects. Iterative on purpose: the
 * recursive walkers downstream (storable-text checks, canonical JSON, diffs) would overflow the
 * stack on a value like 200,000 nested arrays, which a 1 MB body easily holds.
 */
export function jsonDeeperThan(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
