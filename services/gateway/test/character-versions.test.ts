import { poolOf } from '@anime/db';
import { BAD_VERSION_PAGE_QUERIES, range, versionNumbers, walkCursorPages } from './cursor-pages';
import { jsonClient } from './http-client';
import { kaiDefinition } from './fixtures';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('versions');
  api = gateway.client();
  const created = await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition, attributes: { hair_color: 'black', height_cm: 170 } });
  expect(created.status).toBe(201);
});
afterAll(() => gateway?.close());

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
};

const upload = (slug: string, bytes: Buffer, label: string) => {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  return api.post(`/api/v1/characters/${slug}/references`, form);
};

describe('character versions', () => {
  it('when a version is posted, then 201 returns number 2 and it becomes current', async () => {
    const definition = { ...kaiDefinition, appearance: { ...kaiDefinition.appearance, hair: 'short dark blue hair' } };
    const response = await api.post('/api/v1/characters/kai/versions', { definition, attributes: { hair_color: 'dark blue', height_cm: 172 }, note: 'dyed' });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/api/v1/characters/kai/versions/2');
    expect(response.body).toEqual({
      number: 2,
      definition: expect.objectContaining({ appearance: expect.objectContaining({ hair: 'short dark blue hair' }) }),
      attributes: { hair_color: 'dark blue', height_cm: 172 },
      note: 'dyed',
      createdAt: expect.any(String),
    });
    const detail = await api.get('/api/v1/characters/kai');
    expect(detail.body.currentVersion.number).toBe(2);
    expect(detail.body.versionCount).toBe(2);
  });

  it('when two versions are posted at once, then they get N+1 and N+2, never a 500', async () => {
    const body = { definition: { displayName: 'Kai' } };
    const responses = await Promise.all([1, 2, 3].map(() => api.post('/api/v1/characters/kai/versions', body)));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201]);
    expect(responses.map((r) => r.body.number).sort()).toEqual([3, 4, 5]);
    expect((await gateway.db.character.findUniqueOrThrow({ where: { slug: 'kai' } })).currentVersion).toBe(5);
  });

  it('when listing, then every version comes in order with the version shape', async () => {
    const response = await api.get('/api/v1/characters/kai/versions');
    expect(response.status).toBe(200);
    expect(response.body.items.map((v: { number: number }) => v.number)).toEqual([1, 2, 3, 4, 5]);
    expect(Object.keys(response.body.items[0]).sort()).toEqual(['attributes', 'createdAt', 'definition', 'note', 'number']);
  });

  it('when one version is fetched, then it is returned as stored', async () => {
    const response = await api.get('/api/v1/characters/kai/versions/1');
    expect(response.status).toBe(200);
    expect(response.body.attributes).toEqual({ hair_color: 'black', height_cm: 170 });
    expect(response.body.definition.displayName).toBe('Kai Nakamura');
  });

  it('when the version does not exist, then 404 version_not_found; when it is not a number, then 400', async () => {
    expectError(await api.get('/api/v1/characters/kai/versions/99'), 404, 'version_not_found');
    expectError(await api.get('/api/v1/characters/nobody/versions/1'), 404, 'character_not_found');
    expectError(await api.get('/api/v1/characters/kai/versions/0'), 400, 'validation_failed');
    const bad = await api.get('/api/v1/characters/kai/versions/abc');
    expectError(bad, 400, 'validation_failed');
    expect(bad.body.error.details).toEqual([{ path: 'number', message: expect.any(String) }]);
    expect((await api.get('/api/v1/characters/kai/versions/1/diff/x')).body.error.details[0].path).toBe('to');
  });

  it('when two versions are compared, then changes name definition and attribute paths as JSON pointers', async () => {
    const response = await api.get('/api/v1/characters/kai/versions/1/diff/2');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      from: 1,
      to: 2,
      changes: [
        { path: '/appearance/hair', before: 'short black hair', after: 'short dark blue hair' },
        { path: '/attributes/hair_color', before: 'black', after: 'dark blue' },
        { path: '/attributes/height_cm', before: 170, after: 172 },
      ],
    });
    const same = await api.get('/api/v1/characters/kai/versions/2/diff/2');
    expect(same.body.changes).toEqual([]);
    expectError(await api.get('/api/v1/characters/kai/versions/1/diff/42'), 404, 'version_not_found');
  });

  it('when the version body is invalid, then 400 validation_failed names the field and nothing is written', async () => {
    const response = await api.post('/api/v1/characters/kai/versions', { definition: { displayName: 'Kai', prompt: { positive: ['x'] } } });
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'definition.prompt.positive', message: expect.any(String) }]);
    expect(await gateway.db.characterVersion.count({ where: { character: { slug: 'kai' } } })).toBe(5);
  });

  it('when a full version body has a mistyped field, then 400 validation_failed names it instead of dropping it, and nothing is written', async () => {
    const response = await api.post('/api/v1/characters/kai/versions', { definition: { displayName: 'Kai Nakamura' }, atributes: { hair_color: 'black' }, nots: 'typo' });
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'atributes', message: 'unknown field' }, { path: 'nots', message: 'unknown field' }]);
    expect(await gateway.db.characterVersion.count({ where: { character: { slug: 'kai' } } })).toBe(5);
  });

  it('when attributes hold a "__proto__" key, then 400 validation_failed names it instead of dropping it', async () => {
    const response = await api.post('/api/v1/characters/kai/versions', { definition: { displayName: 'Kai Nakamura' }, attributes: JSON.parse('{"hair_color":"black","__proto__":"x"}') });
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'attributes.__proto__', message: expect.stringContaining('__proto__') }]);
    expect(await gateway.db.characterVersion.count({ where: { character: { slug: 'kai' } } })).toBe(5);
  });

  it('when someone tries to change a version, then there is no route for it and the database refuses too', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      expectError(await api.call(method, '/api/v1/characters/kai/versions/1', { definition: { displayName: 'x' } }), 404, 'route_not_found');
    }
    const version = await gateway.db.characterVersion.findFirstOrThrow({ where: { number: 1, character: { slug: 'kai' } } });
    await expect(gateway.db.characterVersion.update({ where: { id: version.id }, data: { note: 'edited' } })).rejects.toThrow(/immutable/);
  });

  it('when references are attached or detached, then a new version links exactly those attached at the time', async () => {
    const face = (await upload('kai', png(4, 4, 1), 'face')).body;
    const body = (await upload('kai', png(4, 4, 2), 'body')).body;
    const withBoth = (await api.post('/api/v1/characters/kai/versions', { definition: kaiDefinition })).body.number;
    expect((await api.delete(`/api/v1/characters/kai/references/${face.id}`)).status).toBe(204);
    const withBody = (await api.post('/api/v1/characters/kai/versions', { definition: kaiDefinition })).body.number;

    const linked = async (number: number) =>
      (await gateway.db.versionReference.findMany({ where: { version: { number, character: { slug: 'kai' } } }, include: { reference: true } }))
        .map((l) => l.reference.label)
        .sort();
    expect(await linked(withBoth)).toEqual(['body', 'face']);
    expect(await linked(withBody)).toEqual(['body']);
    expect(await linked(1)).toEqual([]);
    expect(body.id).toEqual(expect.any(String));
  });
});

describe('the version list, paged', () => {
  // A character edited for most of a year (or by a script): 250 versions, each with two attributes.
  const VERSIONS = 250;

  beforeAll(async () => {
    expect((await api.post('/api/v1/characters', { name: 'Many', slug: 'many', definition: kaiDefinition, attributes: { take: 1 } })).status).toBe(201);
    const sql = poolOf(gateway.db);
    await sql.query(
      `INSERT INTO character_versions (id, "characterId", number, definition, note)
       SELECT gen_random_uuid(), c.id, n, v.definition, 'edit ' || n FROM generate_series(2, $1::int) n
       JOIN characters c ON c.slug = 'many' JOIN character_versions v ON v."characterId" = c.id AND v.number = 1`,
      [VERSIONS],
    );
    await sql.query(
      `INSERT INTO character_attributes (id, "versionId", key, type, value)
       SELECT gen_random_uuid(), v.id, a.key, 'number', to_jsonb(v.number * a.times) FROM character_versions v
       JOIN characters c ON c.id = v."characterId" AND c.slug = 'many' CROSS JOIN (VALUES ('take', 1), ('twice', 2)) a(key, times) WHERE v.number > 1`,
    );
    await sql.query(`UPDATE characters SET "currentVersion" = $1 WHERE slug = 'many'`, [VERSIONS]);
  });

  it('when a character with few versions is listed, then the answer is every version as before, with nextCursor null', async () => {
    const response = await api.get('/api/v1/characters/kai/versions');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['items', 'nextCursor']);
    expect(response.body.nextCursor).toBeNull();
    expect(versionNumbers(response.body)).toEqual(range(1, response.body.items.length));
    expect(response.body.items.length).toBe(await gateway.db.characterVersion.count({ where: { character: { slug: 'kai' } } }));
  });

  it('when listed without a limit, then the first 50 come, oldest first, and nextCursor names the last of them', async () => {
    const response = await api.get('/api/v1/characters/many/versions');
    expect(response.status).toBe(200);
    expect(versionNumbers(response.body)).toEqual(range(1, 50));
    expect(response.body.nextCursor).toBe('50');
    expect(response.body.items[49]).toEqual({ number: 50, definition: expect.objectContaining({ displayName: 'Kai Nakamura' }), attributes: { take: 50, twice: 100 }, note: 'edit 50', createdAt: expect.any(String) });
  });

  it('when walked by its cursors, then every version comes once, in order, and the last page says there is no more', async () => {
    const pages = await walkCursorPages(api, '/api/v1/characters/many/versions?limit=100', versionNumbers);
    expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
    expect(pages.flat()).toEqual(range(1, VERSIONS));
  });

  it('when a page ends exactly on the last version, then nextCursor is null; past the last, the page is empty', async () => {
    const tail = await api.get('/api/v1/characters/many/versions?cursor=50&limit=200');
    expect(versionNumbers(tail.body)).toEqual(range(51, VERSIONS));
    expect(tail.body.nextCursor).toBeNull();
    const one = await api.get('/api/v1/characters/many/versions?limit=1&cursor=248');
    expect([versionNumbers(one.body), one.body.nextCursor]).toEqual([[249], '249']);
    expect((await api.get(`/api/v1/characters/many/versions?limit=1&cursor=249`)).body).toEqual({ items: [expect.objectContaining({ number: 250 })], nextCursor: null });
    expect((await api.get(`/api/v1/characters/many/versions?cursor=${VERSIONS}`)).body).toEqual({ items: [], nextCursor: null });
    expect((await api.get('/api/v1/characters/many/versions?cursor=999999999')).body).toEqual({ items: [], nextCursor: null });
  });

  it.each(BAD_VERSION_PAGE_QUERIES)('when the list is asked with %s, then 400 validation_failed names it', async (query, field) => {
    const response = await api.get(`/api/v1/characters/many/versions?${query}`);
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: field, message: expect.any(String) }]);
  });

  it('when an unknown character is listed, then 404 character_not_found, paged or not', async () => {
    expectError(await api.get('/api/v1/characters/nobody/versions?limit=5&cursor=3'), 404, 'character_not_found');
  });
});
