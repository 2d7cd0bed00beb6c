/** Lower-case ASCII kebab-case, safe both as a slug and inside a file name; `fallback` when nothing is left. */
export function safeName(text: string, fallback: string, maxLength = 60): string {
  const name = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, '');
  return name || fallback;
}
