import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// `character=<slug|id>@<N>` on the generation and asset lists: the form a generation is posted with
// (`"character": "kai@2"`) names the generations and assets of that character version, as
// `character=kai&version=2` does on assets. It was read as a slug no character has: an empty page.

let gateway: TestGateway;
let api: ReturnType<TestGateway['client']>;
let kaiId: string;
const generations: Record<'v1' | 'v2', string> = { v1: '', v2: '' };
const assets: Record<'v1' | 'v2', string> = { v1: '', v2: '' };

type Page = { items: { id: string }[]; nextCursor: string | null };
const idsAt = async (path: string) => {
  const response = await api.get(path);
  expect(response.status).toBe(200);
  return (response.body as Page).items.map((item) => item.id);
};
const refusal = async (path: string) => {
  const response = await api.get(path);
  expect(response.status).toBe(400);
  expect(response.body.error.code).toBe('validation_failed');
  return response.body.error as { message: string; details: { path: string; message: string }[] };
};

beforeAll(async () => {
  gateway = await startTestGateway('apiJ-list-version');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  expect((await api.post('/api/v1/characters/kai/versions', { basedOn: 1, patch: { definition: { appearance: { hair: 'blue' } } } })).status).toBe(201);
  kaiId = (await gateway.db.character.findUniqueOrThrow({ where: { slug: 'kai' } })).id;
  for (const [n, [version, character]] of ([['v1', 'kai@1'], ['v2', 'kai']] as const).entries()) {
    const created = await api.post('/api/v1/generations', { character, prompt: `made with ${version}`, project: 'pinned', episode: 'ep01', scene: 'sc001' });
    expect(created.status).toBe(202);
    generations[version] = created.body.id;
    const job = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id } });
    const asset = await gateway.db.asset.create({
      data: {
        jobId: job.id, characterVersionId: job.characterVersionId!, sourceKey: 'out-1', path: `pinned/${job.id}.png`, sha256: String(n).padStart(64, '0'),
        bytes: 9, width: 8, height: 8, mime: 'image/png', project: 'pinned', episode: 'ep01', scene: 'sc001', metadata: {}, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
      },
    });
    assets[version] = asset.id;
  }
});
afterAll(() => gateway?.close());

describe('GET /api/v1/generations?character=<slug|id>@<version>', () => {
  it('when the character names a version, then only the generations made with that version come; without one, all of the character', async () => {
    expect(await idsAt('/api/v1/generations?character=kai@1')).toEqual([generations.v1]);
    expect(await idsAt('/api/v1/generations?character=kai@2')).toEqual([generations.v2]);
    expect(await idsAt(`/api/v1/generations?character=${kaiId}@2`)).toEqual([generations.v2]);
    expect(await idsAt(`/api/v1/generations?character=${encodeURIComponent('kai@1')}&project=pinned`)).toEqual([generations.v1]);
    // A version the character does not have, or a character that does not exist: no generation, as an unknown slug.
    expect(await idsAt('/api/v1/generations?character=kai@3')).toEqual([]);
    expect(await idsAt('/api/v1/generations?character=nobody@1')).toEqual([]);
    // Unchanged: the slug or id alone.
    expect(await idsAt('/api/v1/generations?character=kai')).toEqual([generations.v2, generations.v1]);
    expect(await idsAt(`/api/v1/generations?character=${kaiId}`)).toEqual([generations.v2, generations.v1]);
    expect(await idsAt('/api/v1/generations?character=&project=pinned')).toEqual([generations.v2, generations.v1]);
  });

  it('when the version after @ is not a whole number from 1, then 400 validation_failed names character', async () => {
    for (const character of ['kai@', 'kai@x', 'kai@0', 'kai@-1', 'kai@1.5', 'kai@1@2', '@2', 'kai@1234567890']) {
      const error = await refusal(`/api/v1/generations?character=${encodeURIComponent(character)}`);
      expect(error.details[0]).toEqual({ path: 'character', message: expect.stringMatching(/@/) });
    }
  });
});

describe('GET /api/v1/assets?character=<slug|id>@<version>', () => {
  it('when the character names a version, then it lists as character and version do', async () => {
    expect(await idsAt('/api/v1/assets?character=kai@1')).toEqual([assets.v1]);
    expect(await idsAt('/api/v1/assets?character=kai@2')).toEqual([assets.v2]);
    expect(await idsAt(`/api/v1/assets?character=${kaiId}@1`)).toEqual([assets.v1]);
    expect(await idsAt('/api/v1/assets?character=kai@2&version=2')).toEqual([assets.v2]);
    expect(await idsAt('/api/v1/assets?character=kai@3')).toEqual([]);
    expect(await idsAt('/api/v1/assets?character=kai&version=1')).toEqual([assets.v1]);
    expect(await idsAt('/api/v1/assets?character=kai')).toEqual([assets.v2, assets.v1]);
    expect(await idsAt('/api/v1/assets?character=&version=1')).toEqual([assets.v1]);
  });

  it('when character@N and version disagree, or the version after @ is bad, then 400 validation_failed names the parameter', async () => {
    expect((await refusal('/api/v1/assets?character=kai@1&version=2')).details[0].path).toBe('version');
    for (const character of ['kai@', 'kai@x', 'kai@0', 'kai@1@2']) expect((await refusal(`/api/v1/assets?character=${encodeURIComponent(character)}`)).details[0].path).toBe('character');
  });
});

describe('list cursors', () => {
  it('when a cursor is not an id (never a nextCursor), then every id-paged list answers 400 validation_failed naming cursor', async () => {
    const hook = await gateway.db.webhookEndpoint.create({ data: { url: 'https://hooks.example.com/anime', events: ['generation.completed'], secret: 'whsec_x' } });
    expect((await api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).status).toBe(200);
    const lists = ['/api/v1/generations', '/api/v1/assets', '/api/v1/characters', '/api/v1/webhooks', `/api/v1/webhooks/${hook.id}/deliveries`];
    for (const list of lists) {
      for (const cursor of ['abc', 'kai', '123', `${generations.v1}x`, `${generations.v1}&cursor=${generations.v2}`]) {
        const error = await refusal(`${list}?cursor=${cursor}`);
        expect(error.details.map((d) => d.path)).toContain('cursor');
      }
    }
  });

  it('when a well-formed cursor names no row, then the page is empty, as a row outside the caller\'s projects', async () => {
    const outsider = gateway.client(await gateway.mintKey({ name: 'other-project', scopes: ['read'], projects: ['elsewhere'] }));
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const list of ['generations', 'assets']) {
      expect((await api.get(`/api/v1/${list}?cursor=${unknown}`)).body).toEqual({ items: [], nextCursor: null });
      const own = list === 'generations' ? generations.v2 : assets.v2;
      expect((await outsider.get(`/api/v1/${list}?cursor=${own}`)).body).toEqual({ items: [], nextCursor: null });
    }
  });
});
