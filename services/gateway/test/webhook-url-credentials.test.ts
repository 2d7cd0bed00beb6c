import { generationRequestPayloadSchema } from '@anime/contracts';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// An endpoint's URL is listed to its key and to every admin, and a request's webhook URL is copied into
// the generation (its resource, the webhook bodies, the queue message): a password written into one
// would be shown to all of them. Such URLs are refused; one stored before is shown without it.
describe('webhook URLs holding a user name or password', () => {
  let gateway: TestGateway;
  const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
  const PASSWORD = 's3cr3t-pw';
  const withCredentials = [`http://hookuser:${PASSWORD}@127.0.0.1:9/in`, `http:///hookuser:${PASSWORD}@127.0.0.1:9/in`, `http://${PASSWORD}@127.0.0.1:9/in`];

  beforeAll(async () => {
    gateway = await startTestGateway('sec-webhook-creds', { webhookAllow: allow });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('when one is registered, then it is 400 validation_failed on url, the password not echoed, nothing stored', async () => {
    const api = gateway.client(await gateway.mintKey({ scopes: ['generate', 'read'] }));
    for (const url of withCredentials) {
      const answer = await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] });
      expect({ url, status: answer.status, code: answer.body.error?.code }).toEqual({ url, status: 400, code: 'validation_failed' });
      expect(answer.body.error.details).toEqual([{ path: 'url', message: expect.stringMatching(/user name or password/) }]);
      expect(JSON.stringify(answer.body)).not.toContain(PASSWORD);
    }
    expect(await gateway.db.webhookEndpoint.count({ where: { url: { contains: PASSWORD } } })).toBe(0);
    // The same URL without credentials is taken.
    expect((await api.post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/in', events: ['generation.completed'] })).status).toBe(201);
  });

  it("when a generation's webhook URL holds one, then REST refuses it (400 on webhook.url) and so does the queue's consumer schema", async () => {
    const api = gateway.client(await gateway.mintKey({ scopes: ['generate', 'read'] }));
    for (const url of withCredentials) {
      const answer = await api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', webhook: { url } });
      expect({ url, status: answer.status, code: answer.body.error?.code }).toEqual({ url, status: 400, code: 'validation_failed' });
      expect(answer.body.error.details).toEqual([{ path: 'webhook.url', message: expect.stringMatching(/user name or password/) }]);
      expect(JSON.stringify(answer.body)).not.toContain(PASSWORD);
      expect(generationRequestPayloadSchema.safeParse({ schemaVersion: 1, character: 'kai', prompt: 'x', webhook: { url } }).success).toBe(false);
    }
    expect(await gateway.db.generationJob.count()).toBe(0);
  });

  it('when an endpoint stored earlier holds one, then its key and an admin see its URL with the credentials as ***, the password nowhere', async () => {
    const token = await gateway.mintKey({ scopes: ['generate', 'read'] });
    const own = await gateway.client(token).post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/own', events: ['generation.failed'] });
    const keyId = (await gateway.db.webhookEndpoint.findUniqueOrThrow({ where: { id: own.body.id } })).apiKeyId;
    const stored = await gateway.db.webhookEndpoint.create({
      data: { url: `http://hookuser:${PASSWORD}@127.0.0.1:9/legacy`, events: ['generation.completed'], secret: newWebhookSecret(), apiKeyId: keyId },
    });
    for (const api of [gateway.client(token), gateway.client()]) {
      const list = await api.get('/api/v1/webhooks');
      const one = await api.get(`/api/v1/webhooks/${stored.id}`);
      expect([list.status, one.status]).toEqual([200, 200]);
      expect(JSON.stringify([list.body, one.body])).not.toContain(PASSWORD);
      expect(one.body.url).toBe('http://***@127.0.0.1:9/legacy');
      expect(list.body.items.find((item: { id: string }) => item.id === stored.id).url).toBe('http://***@127.0.0.1:9/legacy');
    }
    // Kept as it was for sending.
    expect((await gateway.db.webhookEndpoint.findUniqueOrThrow({ where: { id: stored.id } })).url).toContain(PASSWORD);
  });
});
