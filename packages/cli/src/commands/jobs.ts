import { Command, InvalidArgumentError } from 'commander';
import { generationListQuerySchema, generationResourceSchema, JOB_STATUSES } from '@anime/contracts';
import { describeGeneration, type GenerationResource } from '../generation-summary';
import { printJson, printTable } from '../output';
import type { CommandContext } from './context';
import { listQuery } from './list-query';
import { hintNextPage, withPaging } from './paging';
import { textFilterOption } from './text-filter';

const list = (g: GenerationResource) => ({
  id: g.id,
  status: g.status,
  character: g.character ? `${g.character.slug}@${g.character.version}` : null,
  project: g.request?.project,
  progress: g.progress ? `${g.progress.value}/${g.progress.max}` : null,
  files: g.assets.length,
  created: g.createdAt,
  error: g.error?.code,
});

const status = (value: string): string => {
  if (!(JOB_STATUSES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
  return value;
};

export function jobsCommand(context: CommandContext): Command {
  const command = new Command('jobs')
    .description('list generations, newest first')
    .option('--status <status>', JOB_STATUSES.join(' | '), status)
    .addOption(textFilterOption('--project <name>', 'the project', generationListQuerySchema.shape.project))
    .addOption(textFilterOption('--character <slug>', 'slug or id; slug@N: made with its version N', generationListQuerySchema.shape.character))
    .addOption(textFilterOption('--source <system>', 'the system that produced them onto the queue', generationListQuerySchema.shape.source))
    .addOption(textFilterOption('--request-id <key>', "that system's idempotency key", generationListQuerySchema.shape.requestId));
  return withPaging(command, 'jobs', 20, generationListQuerySchema).action(async (options) => {
    const page = await context.api().get<{ items: GenerationResource[]; nextCursor: string | null }>(`/api/v1/generations?${listQuery(options)}`);
    // With --json the page is printed as the API returned it: its nextCursor says whether there is more.
    if (context.json()) return printJson(page);
    printTable(page.items.map(list), ['id', 'status', 'character', 'project', 'progress', 'files', 'created', 'error']);
    const { limit, cursor, ...filters } = options;
    hintNextPage('jobs', limit, page.nextCursor, { filters: Object.values(filters).some((value) => value !== undefined) });
  });
}

/** A generation's id as the API gives it (a UUID): anything else is a usage error, before any request. */
const generationId = (value: string): string => {
  if (!generationResourceSchema.shape.id.safeParse(value).success) throw new InvalidArgumentError('a generation id is a UUID, as `anime jobs` and `anime generate` print it');
  return value;
};

export function showCommand(context: CommandContext): Command {
  return new Command('show')
    .description('show one generation: status, attempts, error and where its files are')
    .argument('<id>', 'generation id', generationId)
    .action(async (id: string) => {
      const api = context.api();
      const generation = await api.get<GenerationResource>(`/api/v1/generations/${encodeURIComponent(id)}`);
      if (context.json()) printJson(generation);
      else console.log(describeGeneration(api, generation));
    });
}

export function cancelCommand(context: CommandContext): Command {
  return new Command('cancel')
    .description('cancel a generation that has not ended')
    .argument('<id>', 'generation id', generationId)
    .action(async (id: string) => {
      const generation = await context.api().post<GenerationResource>(`/api/v1/generations/${encodeURIComponent(id)}/cancel`);
      if (context.json()) printJson(generation);
      // A prompt already in a backend is interrupted there first: the job ends canceled shortly after.
      else console.log(generation.status === 'canceled' ? `${generation.id} canceled` : `${generation.id} cancel requested (still ${generation.status}; anime show ${generation.id})`);
    });
}

export function retryCommand(context: CommandContext): Command {
  return new Command('retry')
    .description('run a failed or canceled generation again')
    .argument('<id>', 'generation id', generationId)
    .option('--new-seed', 'draw a new seed instead of reusing the recorded one')
    .action(async (id: string, options: { newSeed?: boolean }) => {
      const generation = await context.api().post<GenerationResource>(`/api/v1/generations/${encodeURIComponent(id)}/retry`, options.newSeed ? { seed: 'new' } : {});
      if (context.json()) printJson(generation);
      else console.log(`${generation.id} ${generation.status}`);
    });
}

