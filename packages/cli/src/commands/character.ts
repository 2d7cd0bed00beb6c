import { Command, InvalidArgumentError } from 'commander';
import type { CharacterDetail, CharacterVersionResource } from '@anime/contracts';
import { printable } from '../cli-error';
import { printJson, printJsonItems, printTable } from '../output';
import type { CommandContext } from './context';
import { versionPages } from './version-pages';

/**
 * A slug or id as the gateway looks one up: at most 200 characters, no control character (it would
 * name nothing), not `.` or `..` (a URL path segment the request would resolve away: `character .`
 * asked for the character list and printed it as a character).
 */
const characterKey = (value: string): string => {
  if (!value || value.length > 200 || /[\u0000-\u001f\u007f]/.test(value) || value === '.' || value === '..') throw new InvalidArgumentError('a character is its slug or id, as `anime characters` prints them');
  return value;
};

/** The parts of a version's definition a reader wants first; the whole is in --json. */
function definitionSummary(definition: Record<string, any>): string[] {
  const list = (items: unknown) => (Array.isArray(items) && items.length ? items.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') : '-');
  const appearance = definition.appearance ?? {};
  return [
    `display    ${definition.displayName ?? '-'}`,
    `about      ${definition.description ?? '-'}`,
    `looks      ${['age', 'hair', 'eyes', 'build'].filter((k) => appearance[k] !== undefined).map((k) => `${k} ${appearance[k]}`).join('; ') || '-'}`,
    `outfits    ${list(definition.outfits?.map((o: { name: string }) => o.name))}`,
    `triggers   ${list(definition.triggerWords)}`,
    `loras      ${list(definition.loras?.map((l: { name: string; weight: number }) => `${l.name}:${l.weight}`))}`,
    `checkpoint ${definition.checkpoint ?? '-'}`,
  ];
}

function describeCharacter(c: CharacterDetail): string {
  const v = c.currentVersion;
  const lines = [
    `id         ${c.id}`,
    `slug       ${c.slug}`,
    `name       ${c.name}${c.archived ? '  (archived)' : ''}`,
    `version    ${v ? `${v.number} of ${c.versionCount}, ${v.createdAt}${v.note ? `: ${v.note}` : ''}` : '-'}`,
    ...(v ? definitionSummary(v.definition) : []),
  ];
  // Stored text (a name, a note, a description): one line each, no control character.
  return lines.map(printable).join('\n');
}

const versionRow = (current: number | undefined) => (v: CharacterVersionResource) => ({
  version: v.number === current ? `${v.number} *` : v.number,
  created: v.createdAt,
  attributes: Object.keys(v.attributes ?? {}).length,
  outfits: (v.definition as { outfits?: unknown[] }).outfits?.length ?? 0,
  note: v.note,
});

export function characterCommand(context: CommandContext): Command {
  return new Command('character')
    .description('show one character: its current version (definition summary, attributes) and reference images; --versions: its versions')
    .argument('<character>', 'slug or id', characterKey)
    .option(
      '--versions',
      'list its versions instead, oldest first (* marks the current one): all of them, asked for a page at a time; should a page fail, exit 1 and no table, and with --json no list document (past 64 MiB of it, an unfinished one, as stderr says)',
    )
    .action(async (raw: string, options: { versions?: true }) => {
      const key = encodeURIComponent(raw);
      const api = context.api();
      const character = await api.get<CharacterDetail>(`/api/v1/characters/${key}`);
      if (options.versions) {
        // Every version, a page at a time: --json prints `{ items, nextCursor: null }` as one page of the
        // API, held until the last page has come up to 64 MiB, then written as it comes (printJsonItems);
        // the table holds one small row per version, aligned once all are read.
        if (context.json()) return printJsonItems(versionPages(api, key));
        const rows: Record<string, unknown>[] = [];
        for await (const versions of versionPages(api, key)) rows.push(...versions.map(versionRow(character.currentVersion?.number)));
        return printTable(rows, ['version', 'created', 'attributes', 'outfits', 'note']);
      }
      if (context.json()) return printJson(character);
      console.log(describeCharacter(character));
      console.log('\nattributes:');
      printTable(Object.entries(character.currentVersion?.attributes ?? {}).map(([key, value]) => ({ key, value })), ['key', 'value']);
      console.log('\nreferences:');
      printTable(
        character.references.map((r) => ({ id: r.id, label: r.label, kind: r.kind, size: r.width && r.height ? `${r.width}x${r.height}` : null, bytes: r.bytes, mime: r.mime, missing: r.missing })),
        ['id', 'label', 'kind', 'size', 'bytes', 'mime', 'missing'],
      );
    });
}
