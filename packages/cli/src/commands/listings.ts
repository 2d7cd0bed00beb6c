import { Command } from 'commander';
import { characterListQuerySchema } from '@anime/contracts';
import { printJson, printTable } from '../output';
import type { CommandContext } from './context';
import { listQuery } from './list-query';
import { hintNextPage, withPaging } from './paging';
import { textFilterOption } from './text-filter';

/** A command that lists one collection of the API as a table (or JSON). */
function listing(name: string, description: string, path: string, rows: (body: any) => Record<string, unknown>[], columns: string[]) {
  return (context: CommandContext) =>
    new Command(name).description(description).action(async () => {
      const body = await context.api().get(path);
      if (context.json()) printJson(body);
      else printTable(rows(body), columns);
    });
}

/** Characters, a page at a time (by slug) like jobs: a hint on stderr gives the next page's --cursor. */
export function charactersCommand(context: CommandContext): Command {
  const command = new Command('characters')
    .description('list characters and their current versions (archived ones only with --archived)')
    .addOption(textFilterOption('-q, --search <text>', 'only those whose name or slug contains this text, in any case', characterListQuerySchema.shape.q))
    .option('--archived', 'include archived characters');
  return withPaging(command, 'characters', 100, characterListQuerySchema).action(async ({ search, ...options }: { search?: string; archived?: true; limit: number; cursor?: string }) => {
    // --search is the route's `q`; the other options are its parameters of the same name.
    const page = await context.api().get<{ items: Record<string, unknown>[]; nextCursor: string | null }>(`/api/v1/characters?${listQuery({ q: search, ...options })}`);
    // With --json the page is printed as the API returned it: its nextCursor says whether there is more.
    if (context.json()) return printJson(page);
    printTable(page.items, ['slug', 'name', 'currentVersion', 'referenceCount', 'archived']);
    hintNextPage('characters', options.limit, page.nextCursor, { filters: search !== undefined || options.archived === true });
  });
}

export const backendsCommand = listing('backends', 'list ComfyUI backends: state, load, what they offer', '/api/v1/backends', (b) =>
  b.items.map((x: any) => ({ ...x, checkpoints: x.checkpoints?.length ?? 0, loras: x.loras?.length ?? 0, lastError: x.lastError ?? null })), ['id', 'url', 'state', 'busy', 'queueDepth', 'jobsDone', 'checkpoints', 'loras', 'lastError']);

export const queuesCommand = listing('queues', 'list the pipeline queues and their job counts', '/api/v1/queues', (b) =>
  b.items.map((q: any) => ({ name: q.name, paused: q.paused, ...q.counts })), ['name', 'paused', 'waiting', 'active', 'delayed', 'completed', 'failed']);
