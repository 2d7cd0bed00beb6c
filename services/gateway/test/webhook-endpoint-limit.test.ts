import { MAX_WEBHOOKS_PER_KEY } from '@anime/contracts';
import { newWebhookSecret } from '../src/webhooks/sign-webhook';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// Every event is offered to each endpoint it matches: a key's endpoints are bounded, so one key cannot
// make each event cost without end.
describe('webhook endpoints: at most MAX_WEBHOOKS_PER_KEY live ones per key, listed a page at a time', () => {
  let gateway: TestGateway;
  const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
  const url = 'http://127.0.0.1:9/in';

  beforeAll(async () => {
    gateway = await startTestGateway('webhook-limit', { webhookAllow: allow });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  /** Registers one endpoint over the API and answers the key id it was recorded under. */
  const registerFirst = async (token: string) => {
    const first = await gateway.client(token).post('/api/v1/webhooks', { url, events: ['generation.completed'] });
    expect(first.status).toBe(201);
    return (await gateway.db.webhookEndpoint.findUniqueOrThrow({ where: { id: first.body.id } })).apiKeyId;
  };

  it('when a key holds the most, then one more is 409 too_many_webhooks naming the limit; deleting one makes room; another key is not counted against it', async () => {
    const token = await gateway.mintKey({ scopes: ['generate', 'read'] });
    const other = await gateway.mintKey({ scopes: ['generate', 'read'] });
    const keyId = await registerFirst(token);
    await gateway.db.webhookEndpoint.createMany({
      data: Array.from({ length: MAX_WEBHOOKS_PER_KEY - 2 }, () => ({ url, events: ['generation.completed'], secret: newWebhookSecret(), apiKeyId: keyId })),
    });
    const api = gateway.client(token);
    const last = await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] });
    expect(last.status).toBe(201);

    const refused = await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'too_many_webhooks', details: { max: MAX_WEBHOOKS_PER_KEY, registered: MAX_WEBHOOKS_PER_KEY } });
    expect(await gateway.db.webhookEndpoint.count({ where: { apiKeyId: keyId, deletedAt: null } })).toBe(MAX_WEBHOOKS_PER_KEY);

    expect((await gateway.client(other).post('/api/v1/webhooks', { url, events: ['generation.completed'] })).status).toBe(201);

    expect((await api.delete(`/api/v1/webhooks/${last.body.id}`)).status).toBe(204);
    expect((await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] })).status).toBe(201);
  });

  it('when registrations of one key race at the limit, then exactly the room left is granted', async () => {
    const token = await gateway.mintKey({ scopes: ['generate', 'read'] });
    const api = gateway.client(token);
    const keyId = await registerFirst(token);
    await gateway.db.webhookEndpoint.createMany({
      data: Array.from({ length: MAX_WEBHOOKS_PER_KEY - 3 }, () => ({ url, events: ['generation.failed'], secret: newWebhookSecret(), apiKeyId: keyId })),
    });
    const answers = await Promise.all(Array.from({ length: 6 }, () => api.post('/api/v1/webhooks', { url, events: ['generation.failed'] })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 409, 409, 409, 409]);
    expect(await gateway.db.webhookEndpoint.count({ where: { apiKeyId: keyId, deletedAt: null } })).toBe(MAX_WEBHOOKS_PER_KEY);

    // The default page holds all of one key's endpoints.
    const listed = await api.get('/api/v1/webhooks');
    expect(listed.status).toBe(200);
    expect({ items: listed.body.items.length, nextCursor: listed.body.nextCursor }).toEqual({ items: MAX_WEBHOOKS_PER_KEY, nextCursor: null });
  });

  it("when an admin lists every key's endpoints, then pages follow one another oldest first, each once, to a last page whose nextCursor is null", async () => {
    const admin = gateway.client();
    const live = await gateway.db.webhookEndpoint.findMany({ where: { deletedAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } });
    expect(live.length).toBeGreaterThan(2 * MAX_WEBHOOKS_PER_KEY);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await admin.get(`/api/v1/webhooks?limit=150${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(150);
      seen.push(...page.body.items.map((item) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(live.map((row) => row.id));
    expect((await admin.get('/api/v1/webhooks?limit=201')).status).toBe(400);
  });

  it('when the endpoint a page ended with is deleted before the next page is asked for, then the next page starts with the endpoint after it', async () => {
    const token = await gateway.mintKey({ scopes: ['generate', 'read'] });
    const api = gateway.client(token);
    const created: string[] = [];
    for (let i = 0; i < 3; i++) created.push((await api.post('/api/v1/webhooks', { url, events: ['generation.completed'] })).body.id);
    // In the list's order (two may share a millisecond).
    const ids = (await gateway.db.webhookEndpoint.findMany({ where: { id: { in: created } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } })).map((row) => row.id);
    const first = await api.get('/api/v1/webhooks?limit=1');
    expect(first.body).toMatchObject({ items: [{ id: ids[0] }], nextCursor: ids[0] });
    expect((await api.delete(`/api/v1/webhooks/${ids[0]}`)).status).toBe(204);
    const next = await api.get(`/api/v1/webhooks?limit=1&cursor=${ids[0]}`);
    expect(next.status).toBe(200);
    expect(next.body).toMatchObject({ items: [{ id: ids[1] }], nextCursor: ids[1] });
  });
});
