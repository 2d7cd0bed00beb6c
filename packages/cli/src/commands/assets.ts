import { Command, InvalidArgumentError } from 'commander';
import { assetListQuerySchema, type AssetResource } from '@anime/contracts';
import { printJson, printTable } from '../output';
import type { CommandContext } from './context';
import { listQuery } from './list-query';
import { hintNextPage, withPaging } from './paging';
import { textFilterOption } from './text-filter';

const versionNumber = (value: string): number => {
  const parsed = assetListQuerySchema.shape.version.safeParse(value);
  if (!parsed.success || parsed.data === undefined) throw new InvalidArgumentError('--version must be a version number (1, 2, ...)');
  return parsed.data;
};

const row = (a: AssetResource) => ({
  id: a.id,
  character: `${a.character.slug}@${a.character.version}`,
  size: `${a.width}x${a.height}`,
  bytes: a.bytes,
  created: a.createdAt,
  path: a.path,
  sha256: a.sha256,
});

/** The library's files, newest first, a page at a time like jobs; each filter is exact. */
export function assetsCommand(context: CommandContext): Command {
  const shape = assetListQuerySchema.shape;
  const command = new Command('assets')
    .description("list the library's files, newest first, with their path and sha256 (anime download <id> fetches one)")
    .addOption(textFilterOption('--project <name>', 'the project', shape.project))
    .addOption(textFilterOption('--episode <name>', 'the episode', shape.episode))
    .addOption(textFilterOption('--scene <name>', 'the scene', shape.scene))
    .addOption(textFilterOption('--shot <name>', 'the shot', shape.shot))
    .addOption(textFilterOption('--character <slug>', 'slug or id; slug@N: of its version N, as --version N', shape.character))
    .option('--version <n>', "the character version's number (with or without --character)", versionNumber);
  return withPaging(command, 'assets', 50, assetListQuerySchema).action(async (options) => {
    const page = await context.api().get<{ items: AssetResource[]; nextCursor: string | null }>(`/api/v1/assets?${listQuery(options)}`);
    // With --json the page is printed as the API returned it: its nextCursor says whether there is more.
    if (context.json()) return printJson(page);
    printTable(page.items.map(row), ['id', 'character', 'size', 'bytes', 'created', 'path', 'sha256']);
    const { limit, cursor, ...filters } = options;
    hintNextPage('assets', limit, page.nextCursor, { filters: Object.values(filters).some((value) => value !== undefined) });
  });
}
