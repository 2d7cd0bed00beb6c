import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';

describe("webhooks: whatever a receiver answers, each attempt is recorded and a 2xx is never sent again", () => {
  let gateway: TestGateway;
  let receiver: http.Server;
  let port: number;
  const hits: string[] = [];
  let delivery: { stop(): Promise<void> };
  const connection = createRedis(TEST_REDIS_URL, 'worker');

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-answers');
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
    receiver = http.createServer((req, res) => {
      hits.push(req.url!);
      req.resume();
      // A 200 whose body holds NUL bytes (binary, or a careless framework): PostgreSQL text cannot hold them.
      if (req.url === '/nul') return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0x00]));
      // Switches protocols instead of answering (a WebSocket server at the URL, or a hostile one).
      if (req.url === '/switching') return void req.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
    delivery = await startTestWebhookDelivery(gateway, connection, {
      allow: { hosts: [], cidrs: [['127.0.0.1', 32]] },
    });
  });
  afterAll(async () => {
    await delivery?.stop();
    connection.disconnect();
    await gateway?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('when the receiver answers 200 with NUL bytes in its body, then the delivery succeeds once, is listed as succeeded, and is not sent again', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `http://127.0.0.1:${port}/nul`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x' });
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);

    const job = await waitFor(async () => {
      const jobs = await gateway.queues.byKey.webhookDeliveries.getJobs(['completed', 'failed', 'delayed']);
      return jobs.find((j) => j.data.endpointId === endpoint.id && (j.finishedOn || j.attemptsMade > 0)) ?? null;
    }, 'the delivery job to end its first try', 20_000, 50);
    // Past the first retry's backoff (1 s): a delivery recorded as failed would have been sent again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await job.getState()).toBe('completed');
    expect(hits.filter((url) => url === '/nul')).toHaveLength(1);

    const listed = await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries`);
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ eventType: 'generation.canceled', generationId: created.body.id, attempt: 1, statusCode: 200, succeeded: true, error: null });
    const stored = await gateway.db.webhookDelivery.findFirstOrThrow({ where: { endpointId: endpoint.id } });
    expect(stored.responseExcerpt).toBe('ok\uFFFD\uFFFD\uFFFD');
  });

  it('when the receiver answers 101 Switching Protocols, then the try ends at once as a failed try (status 101) to be made again, rather than holding a delivery slot for ever', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `http://127.0.0.1:${port}/switching`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'switching' });
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);

    // Well within the 10 s a try may take: the answer came at once.
    const attempt = await waitFor(() => gateway.db.webhookDelivery.findFirst({ where: { endpointId: endpoint.id } }), 'the 101 try to be recorded', 8_000, 50);
    expect(attempt).toMatchObject({ attempt: 1, statusCode: 101, succeeded: false });
    expect(attempt.error).toMatch(/101/);
    expect(attempt.durationMs).toBeLessThan(5_000);
    const message = await gateway.db.webhookMessage.findFirstOrThrow({ where: { endpointId: endpoint.id } });
    expect(message).toMatchObject({ attempts: 1, finishedAt: null });
    const job = (await gateway.queues.byKey.webhookDeliveries.getJobs(['delayed', 'waiting', 'active'])).find((j) => j.data.endpointId === endpoint.id);
    expect(await job?.getState()).toBe('delayed');
  });

  it('when an endpoint has more attempts than one page holds, then the deliveries list pages newest first with limit and nextCursor, and every attempt is reachable', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `http://127.0.0.1:${port}/many`, events: ['generation.failed'], secret: newWebhookSecret() } });
    const api = gateway.client();
    const generation = await api.post('/api/v1/generations', { character: 'kai', prompt: 'many attempts' });
    // 30 events of 8 tries each: 240 attempts, more than the 200 one answer may hold.
    // Within the last hour: the running sweep deletes attempts older than WEBHOOK_LOG_RETENTION_DAYS.
    const start = Date.now() - 3_600_000;
    await gateway.db.webhookDelivery.createMany({
      data: Array.from({ length: 240 }, (_, i) => ({
        endpointId: endpoint.id, messageId: `msg_${Math.floor(i / 8)}`, eventType: 'generation.failed', generationId: generation.body.id,
        attempt: (i % 8) + 1, statusCode: 500, error: 'receiver answered 500', succeeded: false, durationMs: 3, createdAt: new Date(start + i * 1000),
      })),
    });
    const first = await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(50);
    expect(first.body.nextCursor).toBe(first.body.items[49].id);

    const seen: { id: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const answer = await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      expect(answer.status).toBe(200);
      seen.push(...answer.body.items);
      cursor = answer.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(240);
    const times = seen.map((d) => Date.parse(d.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(new Set(seen.map((d) => d.id)).size).toBe(240);

    for (const bad of ['limit=0', 'limit=201', 'limit=x', 'cursor=nope']) {
      const answer = await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries?${bad}`);
      expect({ bad, status: answer.status, code: answer.body.error?.code }).toEqual({ bad, status: 400, code: 'validation_failed' });
    }
  });
});
