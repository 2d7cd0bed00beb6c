import { randomUUID } from 'node:crypto';
import { databaseStatements } from '@anime/db';
import { waitFor } from '@anime/testing';
import { readGenerationResource } from '../src/data/generation-resources';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
const ids: Record<'alpha' | 'beta', string> = {} as never;

beforeAll(async () => {
  gateway = await startTestGateway('gen-read-with-key');
  const admin = gateway.client();
  expect((await admin.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  for (const project of ['alpha', 'beta'] as const) {
    const created = await admin.post('/api/v1/generations', { character: 'kai', prompt: `in ${project}`, project });
    expect(created.status).toBe(202);
    ids[project] = created.body.id;
  }
});
afterAll(() => gateway?.close());

/**
 * A key that has been used once, so its lastUsedAt write (at most once a minute) is behind it, and
 * then no statement for 200 ms (the webhook dispatcher's read of the setup's events done): what a
 * test counts next is its own requests'.
 */
async function usedKey(name: string, projects?: string[]): Promise<string> {
  const key = await gateway.mintKey({ name, scopes: ['read'], projects });
  expect((await gateway.client(key).get('/api/v1/characters')).status).toBe(200);
  await waitFor(async () => (await gateway.db.apiKey.findFirstOrThrow({ where: { name } })).lastUsedAt, `${name}'s lastUsedAt`);
  let seen = -1;
  await waitFor(async () => {
    const now = databaseStatements();
    const quiet = now === seen;
    seen = now;
    return quiet;
  }, 'no statement for 200 ms', 10_000, 200);
  return key;
}

describe('GET /api/v1/generations/:id reads the key and the generation in one statement', () => {
  it('when a client polls a generation, then each GET is one statement and answers the generation as it is stored', async () => {
    const api = gateway.client(await usedKey('poller'));
    const before = databaseStatements();
    const answers = [await api.get(`/api/v1/generations/${ids.alpha}`), await api.get(`/api/v1/generations/${ids.alpha}`), await api.get(`/api/v1/generations/${ids.beta}`)];
    expect(databaseStatements() - before).toBe(3);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[0].body).toEqual(JSON.parse(JSON.stringify(await readGenerationResource(gateway.db, ids.alpha))));
    expect(answers[2].body.id).toBe(ids.beta);
  });

  it('when the path is spelled in capitals with a trailing slash, then it is the same generation in one statement', async () => {
    const key = await usedKey('capitals');
    const before = databaseStatements();
    // Not through the JSON client: it holds every request to the API document's spelling.
    const answer = await fetch(`${gateway.baseUrl}/api/V1/Generations/${ids.alpha.toUpperCase()}/`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await answer.json()) as { id: string };
    expect(databaseStatements() - before).toBe(1);
    expect(answer.status).toBe(200);
    expect(body.id).toBe(ids.alpha);
  });

  it('when the generation does not exist, then it is 404 in one statement; when the id is no uuid, 400', async () => {
    const api = gateway.client(await usedKey('missing'));
    const before = databaseStatements();
    const missing = await api.get(`/api/v1/generations/${randomUUID()}`);
    expect(databaseStatements() - before).toBe(1);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const malformed = await api.get('/api/v1/generations/not-a-uuid');
    expect(malformed.status).toBe(400);
    // The path parameter is the field named, not the body.
    expect(malformed.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'id', message: expect.stringContaining('uuid') }] });
  });

  it('when a key is limited to other projects, then the generation it read with its key answers 404, as one that does not exist', async () => {
    const alphaOnly = gateway.client(await usedKey('alpha-only', ['alpha']));
    expect((await alphaOnly.get(`/api/v1/generations/${ids.alpha}`)).status).toBe(200);
    const hidden = await alphaOnly.get(`/api/v1/generations/${ids.beta}`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('not_found');
  });

  it('when a key is revoked, then its very next GET of a generation is 401, the generation read with it or not', async () => {
    const key = await usedKey('revoked-poller');
    const api = gateway.client(key);
    expect((await api.get(`/api/v1/generations/${ids.alpha}`)).status).toBe(200);
    await gateway.db.apiKey.updateMany({ where: { name: 'revoked-poller' }, data: { revokedAt: new Date() } });
    const refused = await api.get(`/api/v1/generations/${ids.alpha}`);
    expect(refused.status).toBe(401);
    expect(refused.body).not.toHaveProperty('id');
    expect((await gateway.client(null).get(`/api/v1/generations/${ids.alpha}`)).status).toBe(401);
  });
});
