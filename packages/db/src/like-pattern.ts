/**
 * `text` for Prisma's `contains`, `startsWith`, `endsWith` and `equals` with `mode: 'insensitive'`,
 * matched as written. On PostgreSQL Prisma 7 sends them as `LIKE`/`ILIKE` with the value as the
 * pattern, unescaped and without an ESCAPE clause (prisma/prisma#19506): a client's `%` or `_`
 * would match anything. Backslash is PostgreSQL's default LIKE escape, so it is escaped first.
 * Only for those filters: a plain `equals` (no mode) is `=` and would look for the backslashes.
 */
export function literalLikePattern(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
