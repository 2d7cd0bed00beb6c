import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generationEventsStream } from '@anime/contracts';
import { createLogger } from '@anime/logger';
import { createRedis } from '@anime/pipeline';
import { removeQueueKeys, TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';
import { webhookSweep } from '../src/webhooks/webhook-outbox';

jest.setTimeout(90_000);

/**
 * Redis keeps nothing on disk: a restart (or a flush) empties it. PostgreSQL holds every terminal
 * event and every delivery still owed, and the gateway's sweep re-enqueues what Redis lost, so a
 * receiver still hears of every generation that ended (README "Webhooks", "Redis restart").
 */
describe('webhooks: a Redis emptied before or during delivery loses no message', () => {
  let gateway: TestGateway;
  let receiver: http.Server;
  let base: string;
  let delivery: { stop(): Promise<void> } | undefined;
  const connection = createRedis(TEST_REDIS_URL, 'worker');
  const reader = createRedis(TEST_REDIS_URL, 'worker');
  const received: { path: string; id: string }[] = [];
  const failuresLeft = new Map<string, number>();
  const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };

  const startDelivery = () =>
    startTestWebhookDelivery(gateway, connection, {
      allow,
      // Short, so the test is quick: the sweep every half second, on work a moment old; a retry 2 s after a failure.
      recovery: { everyMs: 500, graceMs: 300 },
      retrySchedule: { delaysMs: [2_000, 2_000], jitter: 0, maxRetryAfterMs: 2_000 },
    });

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        received.push({ path: req.url ?? '/', id });
        if (req.url === '/flaky') {
          const left = failuresLeft.get(id) ?? 1;
          failuresLeft.set(id, left - 1);
          if (left > 0) return res.writeHead(503).end('busy');
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    gateway = await startTestGateway('webhook-redis-loss', { webhookAllow: allow });
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  });
  afterEach(async () => {
    await delivery?.stop();
    delivery = undefined;
  });
  afterAll(async () => {
    connection.disconnect();
    reader.disconnect();
    await gateway?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  const cancelOne = async (prompt: string) => {
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt });
    expect(created.status).toBe(202);
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    return created.body.id as string;
  };

  it('when a generation ends and Redis is emptied before any gateway read its generation-events entry, then the webhook is still delivered', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `${base}/before`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const generationId = await cancelOne('ended while no gateway read the stream');
    // The terminal event reached the stream (and PostgreSQL); then Redis loses everything.
    await waitFor(async () => {
      const entries = (await reader.xrange(generationEventsStream(gateway.queuePrefix), '-', '+')) as [string, string[]][];
      return entries.some(([, fields]) => fields.includes('job:canceled') && fields.includes(generationId)) || null;
    }, 'the canceled event on the stream', 20_000, 50);
    await removeQueueKeys(gateway.queuePrefix, TEST_REDIS_URL);

    delivery = await startDelivery();
    await waitFor(async () => (received.some((r) => r.path === '/before') ? true : null), 'the webhook of the event Redis lost', 30_000, 100);
    expect(received.filter((r) => r.path === '/before')).toHaveLength(1);
    // The attempt is recorded once the receiver's answer is in, a moment after the receiver saw it.
    const log = await waitFor(async () => {
      const rows = await gateway.db.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
      return rows.length ? rows : null;
    }, 'the delivery to be recorded', 10_000, 20);
    expect(log).toEqual([expect.objectContaining({ generationId, eventType: 'generation.canceled', attempt: 1, statusCode: 204, succeeded: true })]);
  });

  it('when Redis is emptied while a failed delivery waits for its retry, then it is retried anyway, with the same webhook-id, and succeeds once', async () => {
    delivery = await startDelivery();
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `${base}/flaky`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const generationId = await cancelOne('ended, its receiver busy');
    // The first attempt failed (503) and is recorded: the job now waits in backoff, in Redis only.
    await waitFor(async () => (await gateway.db.webhookDelivery.count({ where: { endpointId: endpoint.id } })) >= 1 || null, 'the first, failed attempt', 30_000, 20);
    await removeQueueKeys(gateway.queuePrefix, TEST_REDIS_URL);

    const attempts = await waitFor(async () => {
      const rows = await gateway.db.webhookDelivery.findMany({ where: { endpointId: endpoint.id }, orderBy: { attempt: 'asc' } });
      return rows.some((r) => r.succeeded) ? rows : null;
    }, 'the retried attempt to succeed', 30_000, 100);
    expect(attempts.map((a) => [a.attempt, a.statusCode, a.succeeded, a.generationId])).toEqual([
      [1, 503, false, generationId],
      [2, 204, true, generationId],
    ]);
    const hits = received.filter((r) => r.path === '/flaky');
    expect(hits).toHaveLength(2);
    expect(new Set(hits.map((h) => h.id)).size).toBe(1);
    // Delivered: the sweep does not send it again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(received.filter((r) => r.path === '/flaky')).toHaveLength(2);
  });
  it('when many messages wait hours for their next try, then a sweep asks Redis about none of them; one whose try is due and whose job Redis lost is enqueued again', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `${base}/later`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const generationId = await cancelOne('its receiver down for hours');
    // As a receiver down for a day leaves them: owed, untouched for minutes, each next try hours away, their delayed jobs in Redis.
    const minutesAgo = new Date(Date.now() - 5 * 60_000);
    const hoursAhead = new Date(Date.now() + 5 * 3_600_000);
    await gateway.db.webhookMessage.createMany({
      data: Array.from({ length: 50 }, (_, i) => ({ endpointId: endpoint.id, generationId, seq: 1_000 + i, eventType: 'generation.canceled', attempts: 3, nextAttemptAt: hoursAhead, createdAt: minutesAgo, updatedAt: minutesAgo })),
    });
    const queue = gateway.queues.byKey.webhookDeliveries;
    const asked = jest.spyOn(queue, 'getJobState');
    try {
      const log = createLogger('test', 'error');
      await webhookSweep({ db: gateway.db, queues: gateway.queues, log }, 300);
      const askedAboutLater = asked.mock.calls.filter(([jobId]) => String(jobId).includes(endpoint.id)).length;
      expect(askedAboutLater).toBe(0);

      // One of them comes due (its job lost meanwhile): the next sweep hands it on.
      await gateway.db.webhookMessage.update({ where: { endpointId_generationId_seq: { endpointId: endpoint.id, generationId, seq: 1_000 } }, data: { nextAttemptAt: minutesAgo } });
      await webhookSweep({ db: gateway.db, queues: gateway.queues, log }, 300);
      const jobId = `webhook-${endpoint.id}-${generationId}-1000`;
      expect(await queue.getJobState(jobId)).not.toBe('unknown');
      expect(await queue.getJobState(`webhook-${endpoint.id}-${generationId}-1001`)).toBe('unknown');
    } finally {
      asked.mockRestore();
      await gateway.db.webhookMessage.updateMany({ where: { endpointId: endpoint.id }, data: { finishedAt: new Date(), outcome: 'test over' } });
    }
  });
});
