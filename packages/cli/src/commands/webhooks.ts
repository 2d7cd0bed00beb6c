import { Command, InvalidArgumentError } from 'commander';
import { MAX_WEBHOOKS_PER_KEY, webhookDeliveryListQuerySchema, webhookListQuerySchema, webhookResourceSchema, type WebhookDeliveryResource, type WebhookResource } from '@anime/contracts';
import { printJson, printTable } from '../output';
import type { CommandContext } from './context';
import { listQuery } from './list-query';
import { hintNextPage, withPaging } from './paging';

type Page<T> = { items: T[]; nextCursor: string | null };

/** The key's webhook endpoints (an admin key reaching every project: every key's), oldest first. */
export function webhooksCommand(context: CommandContext): Command {
  const command = new Command('webhooks').description("list this key's webhook endpoints, oldest first (never their secrets)");
  return withPaging(command, 'webhooks', MAX_WEBHOOKS_PER_KEY, webhookListQuerySchema).action(async (options: { limit: number; cursor?: string }) => {
    const page = await context.api().get<Page<WebhookResource>>(`/api/v1/webhooks?${listQuery(options)}`);
    if (context.json()) return printJson(page);
    printTable(page.items.map((w) => ({ ...w, events: w.events.join(','), projects: w.projects?.join(',') ?? 'all', created: w.createdAt, disabled: w.disabledAt })), ['id', 'url', 'events', 'projects', 'created', 'disabled']);
    hintNextPage('webhooks', options.limit, page.nextCursor, { filters: false });
  });
}

const webhookId = (value: string): string => {
  if (!webhookResourceSchema.shape.id.safeParse(value).success) throw new InvalidArgumentError('a webhook id is a UUID, as `anime webhooks` prints it');
  return value;
};

/** The delivery attempts to one endpoint within the log's retention, newest first. */
export function deliveriesCommand(context: CommandContext): Command {
  const command = new Command('deliveries').description('list the delivery attempts to a webhook endpoint, newest first').argument('<webhook>', 'webhook id', webhookId);
  return withPaging(command, 'deliveries', 50, webhookDeliveryListQuerySchema).action(async (id: string, options: { limit: number; cursor?: string }) => {
    const page = await context.api().get<Page<WebhookDeliveryResource>>(`/api/v1/webhooks/${id}/deliveries?${listQuery(options)}`);
    if (context.json()) return printJson(page);
    printTable(
      page.items.map((d) => ({ created: d.createdAt, event: d.eventType, generation: d.generationId, attempt: d.attempt, status: d.statusCode, ok: d.succeeded, ms: d.durationMs, error: d.error })),
      ['created', 'event', 'generation', 'attempt', 'status', 'ok', 'ms', 'error'],
    );
    hintNextPage('deliveries', options.limit, page.nextCursor, { filters: false });
  });
}
