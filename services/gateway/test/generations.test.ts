import { jsonClient } from './http-client';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('generations');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

describe('POST /api/v1/generations', () => {
  it('when a generation is posted, then its character is resolved once, in the gateway: the row starts at stage resolved with its conditioning and goes straight to generation-renders', async () => {
    const response = await api.post('/api/v1/generations', { character: 'kai', outfit: 'JACKET', prompt: 'on a rooftop at dusk' });
    expect(response.status).toBe(202);
    const id = response.body.id as string;
    const row = await gateway.db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ status: 'queued', stage: 'resolved', source: 'api', outfit: 'jacket' });
    expect((row.conditioning as { positive: string }).positive).toMatch(/^kainakamura, .*red bomber jacket.*on a rooftop at dusk$/);
    const render = await gateway.queues.byKey.generationRenders.getJob(`render-${id}`);
    expect(render?.data).toEqual({ schemaVersion: 1, generationId: id, correlationId: expect.any(String) });
    expect(await gateway.queues.byKey.generationRequests.count()).toBe(0);

    const resource = await api.get(`/api/v1/generations/${id}`);
    expect(resource.body).toMatchObject({ id, status: 'queued', stage: 'resolved', source: 'api', requestId: null, character: { slug: 'kai', version: 1 }, outfit: 'jacket', attempts: [] });
  });

  it('when the request names a webhook URL no endpoint of the key is registered at, then 400 webhook_not_registered and no generation is written', async () => {
    const before = await gateway.db.generationJob.count();
    for (const url of ['https://example.test/hook', 'javascript:alert(1)']) {
      const response = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x', webhook: { url } });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe(url.startsWith('https') ? 'webhook_not_registered' : 'validation_failed');
    }
    const refused = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x', webhook: { url: 'https://example.test/hook' } });
    expect(refused.body.error.message).toContain('register it first (POST /api/v1/webhooks)');
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the character is named by its display name, then the match ignores case but is literal: % and _ are no wildcards', async () => {
    expect((await api.post('/api/v1/generations', { character: 'KAI nakamura', prompt: 'by name' })).status).toBe(202);
    const before = await gateway.db.generationJob.count();
    for (const character of ['K_i Nakamura', '%', 'Kai%', '_ai nakamura']) {
      const response = await api.post('/api/v1/generations', { character, prompt: 'by pattern' });
      expect({ character, status: response.status, code: response.body.error?.code }).toEqual({ character, status: 404, code: 'character_not_found' });
    }
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when slug@N or name@N comes with spaces around it, then version N is pinned, as a padded slug or name is found', async () => {
    for (const character of ['kai@1 ', ' kai@1\t', 'Kai Nakamura@1 ']) {
      const response = await api.post('/api/v1/generations', { character, prompt: 'padded' });
      expect({ character, status: response.status }).toEqual({ character, status: 202 });
      expect((await api.get(`/api/v1/generations/${response.body.id}`)).body.character).toMatchObject({ slug: 'kai', version: 1 });
    }
  });

  it('when the character is pinned to a version number past what PostgreSQL holds, then 404 version_not_found, not a 500, and nothing is written', async () => {
    const before = await gateway.db.generationJob.count();
    for (const character of ['kai@2147483648', 'kai@99999999999999999999', 'Kai Nakamura@2147483648']) {
      const response = await api.post('/api/v1/generations', { character, prompt: 'x' });
      expect({ character, status: response.status, code: response.body.error?.code }).toEqual({ character, status: 404, code: 'version_not_found' });
    }
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the body carries fields the request has none of (top level or nested), then 400 validation_failed lists each as a bad field by its path, and nothing is written', async () => {
    const before = await gateway.db.generationJob.count();
    const response = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x', colour: 'red', webhook: { url: 'https://example.test/hook', secret: 's' }, size: 3 });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
    expect(response.body.error.details).toEqual(
      expect.arrayContaining([
        { path: 'colour', message: 'unknown field' },
        { path: 'size', message: 'unknown field' },
        { path: 'webhook.secret', message: 'unknown field' },
      ]),
    );
    expect(response.body.error.message).toContain('colour');
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the seed is past the largest safe integer, then 400 validation_failed says so once for it, and nothing is written', async () => {
    const before = await gateway.db.generationJob.count();
    const response = await api.post('/api/v1/generations', { character: 'kai', prompt: 'x', seed: 1e20 });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([{ path: 'seed', message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` }]);
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the list is filtered with a NUL in a parameter, then it is a 400, not a 500', async () => {
    const response = await api.get('/api/v1/generations?project=%00');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('validation_failed');
  });
});

describe('GET /api/v1/generations?character=', () => {
  it('when the list is filtered by a character, then its slug and its id each give its generations, and a key naming none gives an empty page', async () => {
    const kai = (await api.get('/api/v1/characters/kai')).body as { id: string };
    const posted = await api.post('/api/v1/generations', { character: 'kai', prompt: 'filtered', project: 'by-character' });
    expect(posted.status).toBe(202);
    const idsOf = async (character: string) => (await api.get(`/api/v1/generations?project=by-character&character=${encodeURIComponent(character)}`)).body.items.map((g: { id: string }) => g.id);
    expect(await idsOf('kai')).toEqual([posted.body.id]);
    expect(await idsOf(kai.id)).toEqual([posted.body.id]);
    expect(await idsOf(kai.id.toUpperCase())).toEqual([posted.body.id]);
    for (const nobody of ['nobody', '00000000-0000-4000-8000-000000000000']) expect(await idsOf(nobody)).toEqual([]);
  });
});

describe('GET /api/v1/generations paging', () => {
  it('when the generation a cursor points at leaves the filter before the next page, then the next page still starts right after it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const response = await api.post('/api/v1/generations', { character: 'kai', prompt: `page ${i}`, project: 'paging' });
      expect(response.status).toBe(202);
      ids.push(response.body.id as string);
    }
    const newestFirst = [...ids].reverse();
    const first = await api.get('/api/v1/generations?project=paging&status=queued&limit=2');
    expect(first.body.items.map((g: { id: string }) => g.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.body.nextCursor).toBe(newestFirst[1]);
    // The cursor's generation is canceled: it is no longer queued, but the page after it stays the same.
    expect((await api.post(`/api/v1/generations/${newestFirst[1]}/cancel`, {})).status).toBe(202);
    const second = await api.get(`/api/v1/generations?project=paging&status=queued&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((g: { id: string }) => g.id)).toEqual(newestFirst.slice(2, 4));
    expect(second.body.nextCursor).toBeNull();
    // A cursor naming no generation is past the end.
    expect((await api.get('/api/v1/generations?limit=2&cursor=00000000-0000-4000-8000-000000000000')).body).toEqual({ items: [], nextCursor: null });
  });
});
