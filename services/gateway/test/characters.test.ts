import { jsonClient } from './http-client';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('characters');
  api = gateway.client();
});
afterAll(() => gateway?.close());

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
};

describe('POST /api/v1/characters', () => {
  it('when a valid character is posted, then 201 returns the detail with version 1 and a Location', async () => {
    const response = await api.post('/api/v1/characters', {
      name: 'Kai Nakamura',
      slug: 'kai',
      definition: kaiDefinition,
      attributes: { hair_color: 'black', height_cm: 172, is_lead: true },
      note: 'first draft',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/api/v1/characters/kai');
    expect(response.body).toEqual({
      id: expect.any(String),
      slug: 'kai',
      name: 'Kai Nakamura',
      archived: false,
      currentVersion: {
        number: 1,
        definition: expect.objectContaining({ displayName: 'Kai Nakamura', appearance: expect.objectContaining({ hair: 'short black hair' }) }),
        attributes: { hair_color: 'black', height_cm: 172, is_lead: true },
        note: 'first draft',
        createdAt: expect.any(String),
      },
      versionCount: 1,
      references: [],
    });
    const rows = await gateway.db.characterAttribute.findMany({ where: { version: { characterId: response.body.id } }, orderBy: { key: 'asc' } });
    expect(rows.map((r) => [r.key, r.type])).toEqual([['hair_color', 'string'], ['height_cm', 'number'], ['is_lead', 'boolean']]);
  });

  it('when no slug is given, then it is a kebab-case of the name', async () => {
    const response = await api.post('/api/v1/characters', { name: 'Émilie  O’Hara!', definition: { displayName: 'Émilie' } });
    expect(response.status).toBe(201);
    expect(response.body.slug).toBe('emilie-o-hara');
    expect(response.body.currentVersion.attributes).toEqual({});
    expect(response.body.currentVersion.note).toBeNull();
  });

  it('when the slug is taken, then 409 slug_taken and nothing is written', async () => {
    const before = await gateway.db.character.count();
    const response = await api.post('/api/v1/characters', { name: 'Another Kai', slug: 'kai', definition: { displayName: 'Another' } });
    expectError(response, 409, 'slug_taken');
    expect(response.body.error.details).toEqual({ slug: 'kai' });
    expect(await gateway.db.character.count()).toBe(before);
  });

  it('when the defaulted slug is taken, then 409 slug_taken too', async () => {
    expectError(await api.post('/api/v1/characters', { name: 'KAI', definition: { displayName: 'x' } }), 409, 'slug_taken');
  });

  it('when the definition is invalid, then 400 validation_failed names each bad field', async () => {
    const response = await api.post('/api/v1/characters', {
      name: 'Broken',
      definition: { displayName: '', prompt: { positive: 42 }, loras: [{ name: 'x', weight: 'heavy' }] },
      attributes: { 'Bad Key': 1, ok_key: { nested: true } },
    });
    expectError(response, 400, 'validation_failed');
    const paths = response.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['definition.displayName', 'definition.prompt.positive', 'definition.loras.0.weight', 'attributes.ok_key']),
    );
    expect(paths.some((p: string) => p.startsWith('attributes.') && p.includes('Bad Key'))).toBe(true);
    for (const detail of response.body.error.details) expect(detail.message).toEqual(expect.any(String));
  });

  it('when name or definition is missing, or text holds NUL, then 400 validation_failed, never a 500', async () => {
    const missing = await api.post('/api/v1/characters', {});
    expectError(missing, 400, 'validation_failed');
    expect(missing.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['name', 'definition']));
    const nul = await api.post('/api/v1/characters', { name: 'a\u0000b', definition: { displayName: 'x' }, attributes: { note: 'x\u0000' } });
    expectError(nul, 400, 'validation_failed');
    expect(nul.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['name', 'attributes.note']));
  });

  it('when the definition holds a key the schema has no field for with NUL or a lone surrogate (in the key or its value), then 400 validation_failed naming it, and nothing is written', async () => {
    const before = await gateway.db.character.count();
    // The definition schema drops keys it has no field for: these were dropped and the character created (201).
    for (const [definition, path] of [
      [{ displayName: 'x', 'mood\u0000': 'calm' }, 'definition.mood\u0000'],
      [{ displayName: 'x', mood: 'ca\ud800lm' }, 'definition.mood'],
      [{ displayName: 'x', appearance: { 'tone\udc00': 'warm' } }, 'definition.appearance.tone\udc00'],
    ] as const) {
      const response = await api.post('/api/v1/characters', { name: 'Hidden NUL', definition });
      expectError(response, 400, 'validation_failed');
      expect(response.body.error.details).toEqual([{ path, message: 'must not contain NUL characters or lone UTF-16 surrogates' }]);
    }
    expect(await gateway.db.character.count()).toBe(before);
  });

  it('when the body has a field the API does not know, then 400 validation_failed names it and nothing is written', async () => {
    const before = await gateway.db.character.count();
    const response = await api.post('/api/v1/characters', { name: 'Typo', definition: { displayName: 'Typo' }, atributes: { hair_color: 'black' }, extra: 1 });
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: 'atributes', message: 'unknown field' }, { path: 'extra', message: 'unknown field' }]);
    expect(await gateway.db.character.count()).toBe(before);
  });

  it('when the slug is not kebab-case or looks like an id, then 400 validation_failed on slug', async () => {
    for (const slug of ['Has Spaces', '../etc', '123e4567-e89b-12d3-a456-426614174000']) {
      const response = await api.post('/api/v1/characters', { name: 'Odd', slug, definition: { displayName: 'Odd' } });
      expectError(response, 400, 'validation_failed');
      expect(response.body.error.details[0].path).toBe('slug');
    }
  });

  it('when no slug is given and the name is an id (uuid), then 400 validation_failed on slug rather than a slug that looks like an id', async () => {
    const name = '123e4567-e89b-12d3-a456-426614174001';
    const response = await api.post('/api/v1/characters', { name, definition: { displayName: 'Odd' } });
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details[0].path).toBe('slug');
    expect(await gateway.db.character.count({ where: { name } })).toBe(0);
  });

  it('when the body is not JSON, then 400 invalid_json', async () => {
    const response = await fetch(`${gateway.baseUrl}/api/v1/characters`, { method: 'POST', headers: { ...gateway.authHeaders, 'content-type': 'application/json' }, body: '{nope' });
    expectError({ status: response.status, body: await response.json() }, 400, 'invalid_json');
  });

  it('when the body is JSON but not an object (null, a string, a number), then 400 invalid_json saying so, not that it is no JSON', async () => {
    for (const [body, kind] of [['null', 'null'], ['"kai"', 'string'], ['3', 'number']]) {
      const response = await fetch(`${gateway.baseUrl}/api/v1/characters`, { method: 'POST', headers: { ...gateway.authHeaders, 'content-type': 'application/json' }, body });
      const answer = (await response.json()) as { error: { message: string } };
      expectError({ status: response.status, body: answer }, 400, 'invalid_json');
      expect(answer.error.message).toBe(`request body must be a JSON object, not ${kind}`);
    }
  });
});

describe('GET /api/v1/characters and /:idOrSlug', () => {
  it('when listing, then each item has the summary shape', async () => {
    const response = await api.get('/api/v1/characters?q=kai');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      items: [{ id: expect.any(String), slug: 'kai', name: 'Kai Nakamura', currentVersion: 1, archived: false, referenceCount: 0 }],
      nextCursor: null,
    });
  });

  it('when paging with limit and cursor, then every character appears once', async () => {
    const first = await api.get('/api/v1/characters?limit=1');
    expect(first.body.items).toHaveLength(1);
    const second = await api.get(`/api/v1/characters?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].slug).not.toBe(first.body.items[0].slug);
  });

  it('when the character a cursor points at is archived before the next page, then the next page still starts right after it', async () => {
    for (const slug of ['page-a', 'page-b', 'page-c', 'page-d']) {
      expect((await api.post('/api/v1/characters', { name: slug, slug, definition: { displayName: slug } })).status).toBe(201);
    }
    const first = await api.get('/api/v1/characters?q=page-&limit=2');
    expect(first.body.items.map((c: { slug: string }) => c.slug)).toEqual(['page-a', 'page-b']);
    expect((await api.delete('/api/v1/characters/page-b')).status).toBe(200);
    // Once `skip: 1` dropped page-c: the row it skipped was no longer the cursor's own.
    const second = await api.get(`/api/v1/characters?q=page-&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ slug: 'page-c' }), expect.objectContaining({ slug: 'page-d' })], nextCursor: null });
    const unknown = await api.get('/api/v1/characters?limit=2&cursor=00000000-0000-4000-8000-000000000000');
    expect(unknown.body).toEqual({ items: [], nextCursor: null });
  });

  it('when fetched by slug or by id, then the same detail comes back', async () => {
    const bySlug = await api.get('/api/v1/characters/kai');
    const byId = await api.get(`/api/v1/characters/${bySlug.body.id}`);
    expect(bySlug.status).toBe(200);
    expect(byId.body).toEqual(bySlug.body);
  });

  it('when the character does not exist or the key holds NUL, then 404 character_not_found', async () => {
    expectError(await api.get('/api/v1/characters/nobody'), 404, 'character_not_found');
    expectError(await api.get('/api/v1/characters/00000000-0000-4000-8000-000000000000'), 404, 'character_not_found');
    expectError(await api.get('/api/v1/characters/a%00b'), 404, 'character_not_found');
  });

  it('when the path is not valid percent-encoding, then 400 invalid_path, not a 500', async () => {
    expectError(await api.get('/api/v1/characters/%E0%A4%A'), 400, 'invalid_path');
    expectError(await api.get('/api/v1/characters/%ED%A0%80/versions'), 400, 'invalid_path');
  });

  it('when the query is bad, then 400 validation_failed', async () => {
    expectError(await api.get('/api/v1/characters?limit=0'), 400, 'validation_failed');
    expectError(await api.get('/api/v1/characters?q=%00'), 400, 'validation_failed');
    expectError(await api.get('/api/v1/characters?archived=maybe'), 400, 'validation_failed');
  });
});

describe('GET /api/v1/characters?q= (search)', () => {
  beforeAll(async () => {
    const characters = [['Test One', 'test-one'], ['Rin 100% Sure', 'rin-percent'], ['Under_Score', 'under-score'], ['Back\\Slash', 'back-slash']];
    for (const [name, slug] of characters) expect((await api.post('/api/v1/characters', { name, slug, definition: { displayName: name } })).status).toBe(201);
  });
  const found = async (q: string) => {
    const response = await api.get(`/api/v1/characters?q=${encodeURIComponent(q)}`);
    expect(response.status).toBe(200);
    return response.body.items.map((c: { slug: string }) => c.slug);
  };

  it('when q holds %, _ or \\, then they are matched literally, never as SQL LIKE wildcards', async () => {
    expect(await found('k%ra')).toEqual([]);
    expect(await found('t_st')).toEqual([]);
    expect(await found('%')).toEqual(['rin-percent']);
    expect(await found('_')).toEqual(['under-score']);
    expect(await found('\\')).toEqual(['back-slash']);
    expect(await found('0% S')).toEqual(['rin-percent']);
    expect(await found('UNDER_s')).toEqual(['under-score']);
  });

  it('when q is plain text, then name (case-insensitively) and slug are searched as substrings', async () => {
    expect(await found('NAKAMURA')).toEqual(['kai']);
    expect(await found('st-on')).toEqual(['test-one']);
  });
});

describe('DELETE /api/v1/characters/:idOrSlug', () => {
  let slug: string;
  beforeAll(async () => {
    slug = (await api.post('/api/v1/characters', { name: 'Old Timer', definition: { displayName: 'Old Timer' } })).body.slug;
  });

  it('when a character is deleted, then it is archived, not destroyed', async () => {
    const response = await api.delete(`/api/v1/characters/${slug}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(expect.objectContaining({ slug, archived: true, versionCount: 1 }));
    const row = await gateway.db.character.findUniqueOrThrow({ where: { slug } });
    expect(row.archivedAt).toBeInstanceOf(Date);
    expect(await gateway.db.characterVersion.count({ where: { characterId: row.id } })).toBe(1);
  });

  it('when archived, then it is hidden from the list unless archived=true', async () => {
    const slugs = async (query: string) => (await api.get(`/api/v1/characters${query}`)).body.items.map((c: { slug: string }) => c.slug);
    expect(await slugs('')).not.toContain(slug);
    expect(await slugs('?archived=true')).toContain(slug);
    expect((await api.get(`/api/v1/characters/${slug}`)).body.archived).toBe(true);
  });

  it('when archived again, then it stays archived with its first archive time', async () => {
    const first = (await gateway.db.character.findUniqueOrThrow({ where: { slug } })).archivedAt;
    expect((await api.delete(`/api/v1/characters/${slug}`)).status).toBe(200);
    expect((await gateway.db.character.findUniqueOrThrow({ where: { slug } })).archivedAt).toEqual(first);
  });

  it('when a generation asks for an archived character, then 409 character_archived and no job is written', async () => {
    const response = await api.post('/api/v1/generations', { character: slug, prompt: 'standing' });
    expectError(response, 409, 'character_archived');
    expect(await gateway.db.generationJob.count()).toBe(0);
  });

  it('when an archived character gets a new version or reference, then 409 character_archived', async () => {
    expectError(await api.post(`/api/v1/characters/${slug}/versions`, { definition: { displayName: 'x' } }), 409, 'character_archived');
    const form = new FormData();
    form.set('file', new Blob([Buffer.from([0x89, 0x50, 0x4e, 0x47])]), 'x.png');
    expectError(await api.post(`/api/v1/characters/${slug}/references`, form), 409, 'character_archived');
  });
});

describe('POST /api/v1/characters/:idOrSlug/references with no limit configured', () => {
  it('when the file is one byte over 20 MiB, then 413 payload_too_large', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024 + 1);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const form = new FormData();
    form.set('file', new Blob([big]), 'big.png');
    form.set('label', 'big');
    expectError(await api.post('/api/v1/characters/kai/references', form), 413, 'payload_too_large');
    expect(await gateway.db.characterReference.count()).toBe(0);
  });
});

describe('GET /api/v1/schemas/character-definition', () => {
  it('when fetched, then it is the JSON Schema of the definition', async () => {
    const response = await api.get('/api/v1/schemas/character-definition');
    expect(response.status).toBe(200);
    expect(response.body.$schema).toMatch(/json-schema\.org/);
    expect(response.body.type).toBe('object');
    expect(response.body.required).toEqual(['displayName']);
    expect(Object.keys(response.body.properties)).toEqual(
      expect.arrayContaining(['displayName', 'appearance', 'outfits', 'prompt', 'triggerWords', 'loras', 'checkpoint']),
    );
  });

  it('when an unknown schema is asked for, then 404 with the error shape', async () => {
    expectError(await api.get('/api/v1/schemas/nope'), 404, 'not_found');
  });
});
