import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let admin: ReturnType<TestGateway['client']>;

interface Place { project: string; episode: string; scene: string; shot?: string; character: 'kai' | 'mei' }

/** A generation through the API, and one asset for it written as the file-organizer would. */
async function assetAt(place: Place, n: number): Promise<string> {
  const created = await admin.post('/api/v1/generations', { character: place.character, prompt: `asset ${n}`, project: place.project, episode: place.episode, scene: place.scene, ...(place.shot ? { shot: place.shot } : {}) });
  expect(created.status).toBe(202);
  const job = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id } });
  const asset = await gateway.db.asset.create({
    data: {
      jobId: job.id, characterVersionId: job.characterVersionId!, sourceKey: 'out-1', path: `${place.project}/${job.id}.png`,
      sha256: n.toString(16).padStart(64, '0'), bytes: 9, width: 8, height: 8, mime: 'image/png',
      project: place.project, episode: place.episode, scene: place.scene, shot: place.shot ?? null, metadata: {},
      // Distinct times, oldest first, so "newest first" is checkable.
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    },
  });
  return asset.id;
}

const ids: string[] = [];
const listed = async (query: string, client = admin) => {
  const response = await client.get(`/api/v1/assets${query}`);
  expect(response.status).toBe(200);
  return response.body as { items: { id: string; project: string; character: { slug: string; version: number } }[]; nextCursor: string | null };
};
const idsOf = (page: { items: { id: string }[] }) => page.items.map((a) => a.id);

beforeAll(async () => {
  gateway = await startTestGateway('asset-list');
  admin = gateway.client();
  for (const slug of ['kai', 'mei']) expect((await admin.post('/api/v1/characters', { name: slug, slug, definition: kaiDefinition })).status).toBe(201);
  expect((await admin.post('/api/v1/characters/kai/versions', { basedOn: 1, patch: { definition: { appearance: { hair: 'blue' } } } })).status).toBe(201);
  const places: Place[] = [
    { project: 'alpha', episode: 'ep01', scene: 'sc001', character: 'mei' }, // 0: mei v1
    { project: 'alpha', episode: 'ep01', scene: 'sc001', shot: 'sh010', character: 'kai' }, // 1: kai v2
    { project: 'alpha', episode: 'ep02', scene: 'sc005', character: 'kai' }, // 2
    { project: 'beta', episode: 'ep01', scene: 'sc001', character: 'kai' }, // 3
  ];
  for (const [n, place] of places.entries()) ids.push(await assetAt(place, n));
  // An older asset of kai v1, written straight to the database.
  const v1 = await gateway.db.characterVersion.findFirstOrThrow({ where: { number: 1, character: { slug: 'kai' } } });
  const job = await gateway.db.generationJob.findFirstOrThrow({ where: { project: 'beta' } });
  await gateway.db.asset.create({
    data: { jobId: job.id, characterVersionId: v1.id, sourceKey: 'old', path: 'beta/old.png', sha256: 'f'.repeat(64), bytes: 9, width: 8, height: 8, mime: 'image/png', project: 'beta', episode: 'ep01', scene: 'sc001', metadata: {}, createdAt: new Date(Date.UTC(2025, 0, 1)) },
  }).then((a) => ids.push(a.id));
});
afterAll(() => gateway?.close());

describe('GET /api/v1/assets', () => {
  it('when listed without filters, then every asset comes newest first in the asset shape', async () => {
    const page = await listed('');
    expect(idsOf(page)).toEqual([ids[3], ids[2], ids[1], ids[0], ids[4]]);
    expect(page.nextCursor).toBeNull();
    expect(page.items[0]).toMatchObject({ id: ids[3], url: `/api/v1/assets/${ids[3]}/file`, project: 'beta', character: { slug: 'kai', version: 2 } });
  });

  it('when filtered by project, episode, scene, shot, character or version, then only the matching assets come', async () => {
    expect(idsOf(await listed('?project=alpha'))).toEqual([ids[2], ids[1], ids[0]]);
    expect(idsOf(await listed('?project=alpha&episode=ep01'))).toEqual([ids[1], ids[0]]);
    expect(idsOf(await listed('?episode=ep01&scene=sc001'))).toEqual([ids[3], ids[1], ids[0], ids[4]]);
    expect(idsOf(await listed('?shot=sh010'))).toEqual([ids[1]]);
    expect(idsOf(await listed('?character=mei'))).toEqual([ids[0]]);
    const kai = await gateway.db.character.findUniqueOrThrow({ where: { slug: 'kai' } });
    expect(idsOf(await listed(`?character=${kai.id}`))).toEqual([ids[3], ids[2], ids[1], ids[4]]);
    expect(idsOf(await listed('?character=kai&version=1'))).toEqual([ids[4]]);
    expect(idsOf(await listed('?character=kai&version=2&project=alpha'))).toEqual([ids[2], ids[1]]);
    expect(idsOf(await listed('?character=nobody'))).toEqual([]);
  });

  it('when paged with limit and cursor, then the pages join up to the whole list without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await listed(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...idsOf(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ids[3], ids[2], ids[1], ids[0], ids[4]]);
  });

  it('when a key is limited to a project, then it sees only that project, even when it names another', async () => {
    const alpha = gateway.client(await gateway.mintKey({ name: 'alpha-assets', scopes: ['read'], projects: ['alpha'] }));
    expect(idsOf(await listed('', alpha))).toEqual([ids[2], ids[1], ids[0]]);
    expect(idsOf(await listed('?project=beta', alpha))).toEqual([]);
    expect(idsOf(await listed('?character=kai', alpha))).toEqual([ids[2], ids[1]]);
  });

  it('when the query is bad, then 400 validation_failed names the parameter', async () => {
    for (const [query, path] of [['limit=0', 'limit'], ['limit=201', 'limit'], ['cursor=abc', 'cursor'], ['version=x', 'version'], ['version=0', 'version'], [`project=${'p'.repeat(65)}`, 'project']]) {
      const response = await admin.get(`/api/v1/assets?${query}`);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('validation_failed');
      expect(response.body.error.details[0].path).toBe(path);
    }
  });

  it('when the key lacks read, then 403; without a key, then 401', async () => {
    const writer = gateway.client(await gateway.mintKey({ name: 'writer-only', scopes: ['characters:write'] }));
    expect((await writer.get('/api/v1/assets')).status).toBe(403);
    expect((await gateway.client(null).get('/api/v1/assets')).status).toBe(401);
  });
});
