import { Router } from 'express';
import { z } from 'zod';
import { createWebhookBodySchema, MAX_WEBHOOKS_PER_KEY, webhookDeliveryListQuerySchema, webhookListQuerySchema, type WebhookDeliveryResource, type WebhookEventType, type WebhookResource } from '@anime/contracts';
import type { WebhookAllowList } from '@anime/config';
import type { Db } from '@anime/db';
import { redactUrlCredentialsInText } from '@anime/logger';
import { ApiError, notFound } from '../api-error';
import { callerOf, type Caller } from '../auth/caller';
import { jsonBodyOnly } from '../json-body-only';
import { newerThan, pageFilter } from '../keyset-page';
import { parseOr400 } from '../parse-body';
import { newWebhookSecret } from '../../webhooks/sign-webhook';
import { checkTargetAtRegistration, TargetRefusedError } from '../../webhooks/target-policy';

const idParam = z.string().uuid('must be a webhook id (uuid)');

type EndpointRow = NonNullable<Awaited<ReturnType<Db['webhookEndpoint']['findFirst']>>>;

const toResource = (row: EndpointRow): WebhookResource => ({
  id: row.id,
  // Registration refuses credentials in a URL; one stored before it did is kept for sending, never shown.
  url: redactUrlCredentialsInText(row.url),
  events: row.events as WebhookEventType[],
  // Prisma reads a NULL text[] as an empty list; no endpoint is stored with an empty one.
  projects: row.projects?.length ? row.projects : null,
  createdAt: row.createdAt.toISOString(),
  disabledAt: row.disabledAt ? row.disabledAt.toISOString() : null,
});

/**
 * An endpoint belongs to the key that registered it: only that key sees, lists and deletes it, and an
 * admin key reaching every project (an operator; AUTH_MODE=off's local caller is one). To any other
 * key, an endpoint answers as one that does not exist.
 */
const ownedBy = (caller: Caller) => ({ deletedAt: null, ...(seesAll(caller) ? {} : { apiKeyId: caller.keyId }) });
const seesAll = (caller: Caller) => caller.keyId === null || (caller.scopes.includes('admin') && caller.projects === null);

export function webhookRoutes(deps: { db: Db; allow: WebhookAllowList }): Router {
  const router = Router();

  const findOwned = async (caller: Caller, rawId: string) => {
    const id = parseOr400(idParam, rawId, 'webhook id', 'id');
    const row = await deps.db.webhookEndpoint.findFirst({ where: { id, ...ownedBy(caller) } });
    if (!row) throw notFound(`webhook ${id}`);
    return row;
  };

  router.post('/', jsonBodyOnly, async (req, res) => {
    const body = parseOr400(createWebhookBodySchema, req.body ?? {});
    try {
      await checkTargetAtRegistration(body.url, deps.allow);
    } catch (error) {
      if (error instanceof TargetRefusedError) throw new ApiError(400, 'webhook_target_refused', error.message, [{ path: 'url', message: error.message }]);
      throw error;
    }
    const caller = callerOf(res);
    const secret = newWebhookSecret();
    const row = await deps.db.$transaction(async (tx) => {
      // One registration of a key at a time, so two at once cannot both pass the count.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`webhook-endpoints:${caller.keyId ?? 'local'}`}))`;
      const registered = await tx.webhookEndpoint.count({ where: { apiKeyId: caller.keyId, deletedAt: null } });
      if (registered >= MAX_WEBHOOKS_PER_KEY) {
        throw new ApiError(409, 'too_many_webhooks', `this key has ${registered} webhook endpoints: at most ${MAX_WEBHOOKS_PER_KEY} per key; delete one first`, {
          max: MAX_WEBHOOKS_PER_KEY,
          registered,
        });
      }
      // It hears of the projects its key reaches, as they are now.
      return tx.webhookEndpoint.create({
        data: { url: body.url, events: body.events, secret, projects: caller.projects ? [...caller.projects] : undefined, apiKeyId: caller.keyId },
      });
    });
    res.status(201).location(`/api/v1/webhooks/${row.id}`).json({ ...toResource(row), secret });
  });

  router.get('/', async (req, res) => {
    const query = parseOr400(webhookListQuerySchema, req.query, 'query');
    // A page at a time (nextCursor), like the other lists: the endpoints after the cursor's, looked up
    // whatever it is now (one deleted between two pages is marked, still a row). An unknown cursor is past the end.
    const filter = await pageFilter(ownedBy(callerOf(res)), query.cursor, (id) => deps.db.webhookEndpoint.findUnique({ where: { id }, select: { createdAt: true, id: true } }), newerThan);
    if (!filter) return void res.json({ items: [], nextCursor: null });
    const rows = await deps.db.webhookEndpoint.findMany({
      where: filter,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: query.limit + 1,
    });
    const endpoints = rows.slice(0, query.limit);
    res.json({ items: endpoints.map(toResource), nextCursor: rows.length > query.limit ? endpoints[endpoints.length - 1].id : null });
  });

  router.get('/:id', async (req, res) => {
    res.json(toResource(await findOwned(callerOf(res), req.params.id)));
  });

  router.delete('/:id', async (req, res) => {
    const row = await findOwned(callerOf(res), req.params.id);
    // Marked deleted, not removed: its messages and delivery log rows (which reference it) stay until the
    // retention prunes them. Nothing more is sent to it, and the API answers 404 for it and its log.
    await deps.db.webhookEndpoint.update({ where: { id: row.id }, data: { deletedAt: new Date() } });
    res.status(204).end();
  });

  router.get('/:id/deliveries', async (req, res) => {
    const row = await findOwned(callerOf(res), req.params.id);
    const query = parseOr400(webhookDeliveryListQuerySchema, req.query, 'query');
    // Every attempt of the retention (WEBHOOK_LOG_RETENTION_DAYS) stays reachable: newest first, a page
    // at a time (nextCursor), like the other lists. A cursor pruned meanwhile answers an empty page.
    // The cursor's time bounds the page too: Prisma's cursor is an OR PostgreSQL takes no index
    // condition from, so a page deep in the log read every newer attempt of the endpoint through
    // (endpointId, createdAt) first (3,100 of them for a page of 50 in the scale audit).
    const key = query.cursor ? await deps.db.webhookDelivery.findFirst({ where: { id: query.cursor, endpointId: row.id }, select: { createdAt: true } }) : null;
    const rows = await deps.db.webhookDelivery.findMany({
      where: { endpointId: row.id, ...(key ? { createdAt: { lte: key.createdAt } } : {}) },
      orderBy: [{ createdAt: 'desc' }, { attempt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
      ...(query.cursor ? { cursor: { id: query.cursor }, skip: 1 } : {}),
    });
    const deliveries = rows.slice(0, query.limit);
    const items: WebhookDeliveryResource[] = deliveries.map((d) => ({
      id: d.id,
      messageId: d.messageId,
      eventType: d.eventType as WebhookEventType,
      generationId: d.generationId,
      attempt: d.attempt,
      statusCode: d.statusCode,
      error: d.error,
      succeeded: d.succeeded,
      durationMs: d.durationMs,
      createdAt: d.createdAt.toISOString(),
    }));
    res.json({ items, nextCursor: rows.length > query.limit ? deliveries[deliveries.length - 1].id : null });
  });

  return router;
}
