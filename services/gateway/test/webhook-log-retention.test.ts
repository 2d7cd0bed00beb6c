import { randomUUID } from 'node:crypto';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';
import { PRUNE_BATCH, PRUNE_BATCHES_PER_PASS, pruneWebhookLog } from '../src/webhooks/webhook-log-retention';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);
const log = createLogger('test', 'error');

/**
 * WEBHOOK_LOG_RETENTION_DAYS: the gateway's sweep deletes delivery attempts and finished messages
 * older than the retention, a bounded number of rows per pass, and never a message still owed.
 */
describe('webhooks: the delivery log and finished messages are kept for the retention, then deleted', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-retention');
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const newEndpoint = (path: string) => gateway.db.webhookEndpoint.create({ data: { url: `https://hooks.example.com/${path}`, events: ['generation.completed'], secret: newWebhookSecret() } });
  const attempt = (endpointId: string, generationId: string, createdAt: Date, n = 1) => ({
    endpointId, messageId: `msg_${generationId}`, eventType: 'generation.completed', generationId, attempt: n, statusCode: 204, succeeded: true, durationMs: 3, createdAt,
  });
  const message = (endpointId: string, seq: number, fields: { createdAt: Date; finishedAt?: Date; outcome?: string; nextAttemptAt?: Date }) => ({
    endpointId, generationId: randomUUID(), seq, eventType: 'generation.completed', attempts: 1, updatedAt: fields.finishedAt ?? fields.createdAt, nextAttemptAt: fields.createdAt, ...fields,
  });

  it('when attempts and finished messages are older than the retention, then a pass deletes them; recent ones and messages still owed, however old, stay, and the deliveries list shows what is left', async () => {
    const endpoint = await newEndpoint('mixed');
    const gone = await newEndpoint('gone');
    await gateway.db.webhookEndpoint.update({ where: { id: gone.id }, data: { deletedAt: daysAgo(40) } });
    const generation = randomUUID();
    await gateway.db.webhookDelivery.createMany({
      data: [attempt(endpoint.id, generation, daysAgo(45), 1), attempt(endpoint.id, generation, daysAgo(31), 2), attempt(endpoint.id, generation, daysAgo(29), 3), attempt(endpoint.id, generation, daysAgo(0), 4)],
    });
    await gateway.db.webhookMessage.createMany({
      data: [
        // Finished past the retention: delivered, given up, its endpoint deleted.
        message(endpoint.id, 1, { createdAt: daysAgo(60), finishedAt: daysAgo(40), outcome: 'delivered' }),
        message(endpoint.id, 2, { createdAt: daysAgo(60), finishedAt: daysAgo(31), outcome: 'gave up after 8 tries' }),
        message(gone.id, 3, { createdAt: daysAgo(50), finishedAt: daysAgo(40), outcome: 'endpoint deleted' }),
        // Kept: finished within the retention (though made long before), and owed (due long ago, or its retry ahead).
        message(endpoint.id, 4, { createdAt: daysAgo(60), finishedAt: daysAgo(29), outcome: 'delivered' }),
        message(endpoint.id, 5, { createdAt: daysAgo(400), nextAttemptAt: daysAgo(399) }),
        message(endpoint.id, 6, { createdAt: daysAgo(90), nextAttemptAt: new Date(Date.now() + 3_600_000) }),
        message(gone.id, 7, { createdAt: daysAgo(50) }),
      ],
    });

    const oldest = await gateway.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: endpoint.id, attempt: 1 } });

    expect(await pruneWebhookLog({ db: gateway.db, log }, 30)).toEqual({ deliveries: 2, messages: 3 });

    const left = await gateway.db.webhookMessage.findMany({ where: { endpointId: { in: [endpoint.id, gone.id] } }, orderBy: { seq: 'asc' } });
    expect(left.map((m) => m.seq)).toEqual([4, 5, 6, 7]);
    const listed = await gateway.client().get(`/api/v1/webhooks/${endpoint.id}/deliveries?limit=1`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((d: { attempt: number }) => d.attempt)).toEqual([4]);
    const next = await gateway.client().get(`/api/v1/webhooks/${endpoint.id}/deliveries?limit=1&cursor=${listed.body.nextCursor}`);
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ items: [expect.objectContaining({ attempt: 3 })], nextCursor: null });
    // A client paging with the cursor of an attempt deleted meanwhile: the list has nothing older.
    const pruned = await gateway.client().get(`/api/v1/webhooks/${endpoint.id}/deliveries?cursor=${oldest.id}`);
    expect({ status: pruned.status, body: pruned.body }).toEqual({ status: 200, body: { items: [], nextCursor: null } });

    // Nothing more past the retention: the next pass deletes nothing.
    expect(await pruneWebhookLog({ db: gateway.db, log }, 30)).toEqual({ deliveries: 0, messages: 0 });
    // Owed no more: the sweep of a later test does not hand them to the delivery worker.
    await gateway.db.webhookMessage.updateMany({ where: { finishedAt: null }, data: { finishedAt: new Date(), outcome: 'test over' } });
  });

  it('when more rows are past the retention than a pass may delete, then one pass deletes PRUNE_BATCHES_PER_PASS batches of each table and the next pass the rest', async () => {
    const endpoint = await newEndpoint('backlog');
    const perPass = PRUNE_BATCH * PRUNE_BATCHES_PER_PASS;
    const extra = 7;
    await gateway.db.$executeRawUnsafe(
      `INSERT INTO webhook_deliveries (id, "endpointId", "messageId", "eventType", "generationId", attempt, succeeded, "durationMs", "createdAt")
       SELECT gen_random_uuid(), $1::uuid, 'msg_' || n, 'generation.completed', gen_random_uuid(), 1, true, 3, timezone('UTC', now()) - make_interval(days => 40, secs => n)
       FROM generate_series(1, $2::int) AS n`,
      endpoint.id,
      perPass + extra,
    );
    await gateway.db.$executeRawUnsafe(
      `INSERT INTO webhook_messages ("endpointId", "generationId", seq, "eventType", attempts, "nextAttemptAt", "finishedAt", outcome, "createdAt", "updatedAt")
       SELECT $1::uuid, gen_random_uuid(), n, 'generation.completed', 1, t, t, 'delivered', t, t
       FROM generate_series(1, $2::int) AS n, LATERAL (SELECT timezone('UTC', now()) - make_interval(days => 40, secs => n) AS t) AS at`,
      endpoint.id,
      perPass + extra,
    );

    expect(await pruneWebhookLog({ db: gateway.db, log }, 30)).toEqual({ deliveries: perPass, messages: perPass });
    expect(await gateway.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(extra);
    expect(await gateway.db.webhookMessage.count({ where: { endpointId: endpoint.id } })).toBe(extra);
    expect(await pruneWebhookLog({ db: gateway.db, log }, 30)).toEqual({ deliveries: extra, messages: extra });
    expect(await gateway.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })).toBe(0);
  });

  it("when the gateway's webhook sweep runs, then it deletes what is past the retention it was given", async () => {
    const endpoint = await newEndpoint('swept');
    const generation = randomUUID();
    await gateway.db.webhookDelivery.createMany({ data: [attempt(endpoint.id, generation, daysAgo(8), 1), attempt(endpoint.id, generation, daysAgo(6), 2)] });
    await gateway.db.webhookMessage.createMany({ data: [message(endpoint.id, 1, { createdAt: daysAgo(9), finishedAt: daysAgo(8), outcome: 'delivered' })] });
    const connection = createRedis(TEST_REDIS_URL, 'worker');
    const delivery = await startTestWebhookDelivery(gateway, connection, {
      allow: { hosts: [], cidrs: [] },
      log,
      logRetentionDays: 7,
    });
    try {
      const left = await waitFor(async () => {
        const rows = await gateway.db.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
        return rows.length === 1 ? rows : null;
      }, 'the sweep to delete the attempt past 7 days', 20_000, 50);
      expect(left[0].attempt).toBe(2);
      expect(await gateway.db.webhookMessage.count({ where: { endpointId: endpoint.id } })).toBe(0);
    } finally {
      await delivery.stop();
      connection.disconnect();
    }
  });
});
