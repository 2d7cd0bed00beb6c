import { Command } from 'commander';
import { printJson, printTable } from '../output';
import type { CommandContext } from './context';

/** A command that lists one collection of the API as a table (or JSON). */
function listing(name: string, description: string, path: string, rows: (body: any) => Record<string, unknown>[], columns: string[]) {
  return (context: CommandContext) =>
    new Command(name).description(description).action(async () => {
      const body = await context.api().get(path);
      if (context.json()) printJson(body);
      else printTable(rows(body), columns);
    });
}

export const charactersCommand = listing('characters', 'list characters and their current versions', '/api/v1/characters?limit=100', (b) => b.items, [
  'slug',
  'name',
  'currentVersion',
  'referenceCount',
  'archived',
]);

export const backendsCommand = listing('backends', 'list ComfyUI backends: state, load, what they offer', '/api/v1/backends', (b) =>
  b.items.map((x: any) => ({ ...x, checkpoints: x.checkpoints?.length ?? 0, loras: x.loras?.length ?? 0, lastError: x.lastError ?? null })), ['id', 'url', 'state', 'busy', 'queueDepth', 'jobsDone', 'checkpoints', 'loras', 'lastError']);

export const queuesCommand = listing('queues', 'list the pipeline queues and their job counts', '/api/v1/queues', (b) =>
  b.items.map((q: any) => ({ name: q.name, paused: q.paused, ...q.counts })), ['name', 'paused', 'waiting', 'active', 'delayed', 'completed', 'failed']);
