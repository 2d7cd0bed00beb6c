import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';
import { NO_ALLOW } from '../src/webhooks/target-policy';

describe('webhooks: the target is checked at registration and again on the address resolved at delivery', () => {
  let gateway: TestGateway;
  let receiver: http.Server;
  let port: number;
  let hits = 0;
  let delivery: { stop(): Promise<void> };
  const connection = createRedis(TEST_REDIS_URL, 'worker');

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-guard');
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
    receiver = http.createServer((req, res) => {
      hits += 1;
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
    // WEBHOOK_ALLOW empty; `hooks.example` answers 127.0.0.1, as a name re-pointed after registration would.
    delivery = await startTestWebhookDelivery(gateway, connection, {
      allow: NO_ALLOW,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
  });
  afterAll(async () => {
    await delivery?.stop();
    connection.disconnect();
    await gateway?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('when a URL names or resolves to a loopback address not in WEBHOOK_ALLOW, then registration is 400 webhook_target_refused', async () => {
    for (const url of [`http://127.0.0.1:${port}/in`, `http://localhost:${port}/in`]) {
      const answer = await gateway.client().post('/api/v1/webhooks', { url, events: ['generation.canceled'] });
      expect({ url, status: answer.status, code: answer.body.error?.code }).toEqual({ url, status: 400, code: 'webhook_target_refused' });
    }
    expect(hits).toBe(0);
  });

  it('when an endpoint registered while its name was public now resolves to 127.0.0.1, then the delivery is refused, recorded once, not retried, and nothing reaches the address', async () => {
    const endpoint = await gateway.db.webhookEndpoint.create({ data: { url: `http://hooks.example:${port}/in`, events: ['generation.canceled'], secret: newWebhookSecret() } });
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x' });
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);

    // The cancel's job:canceled went through the generation-events stream, the dispatcher and the queue.
    const job = await waitFor(async () => {
      const found = (await gateway.queues.byKey.webhookDeliveries.getJobs(['failed'])).find((j) => j.data.endpointId === endpoint.id);
      return found ?? null;
    }, 'the delivery job to fail', 20_000, 50);
    expect(job.attemptsMade).toBe(1);
    const attempts = await gateway.db.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ eventType: 'generation.canceled', generationId: created.body.id, attempt: 1, succeeded: false, statusCode: null });
    expect(attempts[0].error).toMatch(/^refused: hooks\.example resolves to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/);
    expect(hits).toBe(0);

    const listed = await api.get(`/api/v1/webhooks/${endpoint.id}/deliveries`);
    expect(listed.status).toBe(200);
    expect(listed.body.items[0]).toMatchObject({ attempt: 1, succeeded: false, statusCode: null });
  });
});
