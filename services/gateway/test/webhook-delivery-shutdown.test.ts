import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PIPELINE_CATALOG } from '@anime/contracts';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';

jest.setTimeout(60_000);

/**
 * A gateway stopped (SIGTERM: a restart, a rolling deploy) while a receiver takes its time answering
 * (up to the 10 s a try may last): the try is cut after the close grace, recorded in the deliveries
 * list, and its job handed back to the queue, so the next gateway tries again at once, with the same
 * webhook-id and the next attempt number, rather than a minute later once the job's lock lapsed.
 */
describe('webhook deliveries in flight when the gateway stops', () => {
  let gateway: TestGateway;
  let receiver: http.Server;
  let base: string;
  const connection = createRedis(TEST_REDIS_URL, 'worker');
  const received: { path: string; webhookId: string }[] = [];
  let answering = false;
  const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push({ path: req.url ?? '/', webhookId: String(req.headers['webhook-id']) });
        // Slow until told otherwise: the answer would come after the close grace (and before the try's 10 s cut).
        if (answering) res.writeHead(204).end();
        else setTimeout(() => res.writeHead(204).end(), 8_000).unref();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    gateway = await startTestGateway('webhook-delivery-shutdown', { webhookAllow: allow });
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  });
  afterAll(async () => {
    connection.disconnect();
    await gateway?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('when the gateway stops while a receiver is still answering, then the try is recorded, its job is handed back, and the next gateway delivers it at once with the same webhook-id', async () => {
    const endpoint = (await gateway.client().post('/api/v1/webhooks', { url: `${base}/slow`, events: ['generation.canceled'] })).body as { id: string };
    const first = await startTestWebhookDelivery(gateway, connection, { allow });
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'stopped mid-delivery' });
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    await waitFor(async () => received.length === 1, 'the receiver to get the first try', 30_000, 20);

    const stopping = Date.now();
    await first.stop();
    expect(Date.now() - stopping).toBeLessThan(4_500);

    // The cut try is a row of the deliveries list, and its job waits in the queue (not active under a lapsing lock).
    const deliveries = async () => (await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries`)).body.items as { messageId: string; attempt: number; statusCode: number | null; succeeded: boolean; error: string | null }[];
    const [cut] = await deliveries();
    expect(cut).toMatchObject({ attempt: 1, statusCode: null, succeeded: false, messageId: received[0].webhookId });
    expect(cut.error).toMatch(/cut short/);
    const message = await gateway.db.webhookMessage.findFirstOrThrow({ where: { endpointId: endpoint.id } });
    const jobId = PIPELINE_CATALOG.webhookDeliveries.jobId({ endpointId: endpoint.id, generationId: created.body.id, seq: message.seq })!;
    expect(await gateway.queues.byKey.webhookDeliveries.getJobState(jobId)).toBe('waiting');

    // The next gateway (no sweep pass needed: its first one finds nothing untouched for 10 s) delivers it at once.
    answering = true;
    const next = await startTestWebhookDelivery(gateway, connection, { allow });
    try {
      const log = await waitFor(async () => ((await deliveries()).some((d) => d.succeeded) ? await deliveries() : null), 'the try made again', 5_000, 50);
      expect(log.map((d) => [d.attempt, d.succeeded, d.messageId])).toEqual([
        [2, true, received[0].webhookId],
        [1, false, received[0].webhookId],
      ]);
      expect(received.map((r) => r.webhookId)).toEqual([received[0].webhookId, received[0].webhookId]);
    } finally {
      await next.stop();
    }
  });
});
