import { CHARACTER_LIMITS } from '@anime/contracts';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<TestGateway['client']>;

beforeAll(async () => {
  gateway = await startTestGateway('version-patch');
  api = gateway.client();
  const created = await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: kaiDefinition, attributes: { hair_color: 'black', height_cm: 170, left_handed: true } });
  expect(created.status).toBe(201);
});
afterAll(() => gateway?.close());

const versions = () => gateway.db.characterVersion.count({ where: { character: { slug: 'kai' } } });
const post = (body: unknown) => api.post('/api/v1/characters/kai/versions', body);

const expectRefused = async (response: { status: number; body: any }, path: string, message: RegExp) => {
  expect(response.status).toBe(400);
  expect(response.body.error).toMatchObject({ code: 'validation_failed', message: expect.stringMatching(message) });
  expect(response.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
};

describe('versions by JSON Merge Patch', () => {
  it('when a patch changes one field, deletes an attribute and replaces an array, then only those change', async () => {
    const response = await post({
      basedOn: 1,
      note: 'blue hair',
      patch: { definition: { appearance: { hair: 'short dark blue hair' }, triggerWords: ['kai', 'kainakamura'] }, attributes: { hair_color: 'dark blue', left_handed: null, eye_color: 'amber' } },
    });
    expect(response.status).toBe(201);
    expect(response.body.number).toBe(2);
    expect(response.body.note).toBe('blue hair');
    expect(response.body.attributes).toEqual({ hair_color: 'dark blue', height_cm: 170, eye_color: 'amber' });
    const diff = await api.get('/api/v1/characters/kai/versions/1/diff/2');
    expect(diff.body.changes).toEqual([
      { path: '/appearance/hair', before: 'short black hair', after: 'short dark blue hair' },
      { path: '/triggerWords/0', before: 'kainakamura', after: 'kai' },
      { path: '/triggerWords/1', before: null, after: 'kainakamura' },
      { path: '/attributes/hair_color', before: 'black', after: 'dark blue' },
      { path: '/attributes/left_handed', before: true, after: null },
      { path: '/attributes/eye_color', before: null, after: 'amber' },
    ]);
    expect((await api.get('/api/v1/characters/kai')).body.currentVersion.number).toBe(2);
  });

  it('when the patch is empty, then the new version is version N again with no note carried over', async () => {
    const response = await post({ basedOn: 1, patch: {} });
    expect(response.status).toBe(201);
    expect(response.body.note).toBeNull();
    expect((await api.get(`/api/v1/characters/kai/versions/1/diff/${response.body.number}`)).body.changes).toEqual([]);
  });

  it('when basedOn names no version, then 400 names basedOn and nothing is written', async () => {
    const before = await versions();
    await expectRefused(await post({ basedOn: 99, patch: {} }), 'basedOn', /has no version 99/);
    await expectRefused(await post({ basedOn: 0, patch: {} }), 'basedOn', /basedOn/);
    await expectRefused(await post({ basedOn: '1', patch: {} }), 'basedOn', /basedOn/);
    expect(await versions()).toBe(before);
  });

  it('when the patch is not an object, then 400 says it must be a JSON Merge Patch object', async () => {
    for (const patch of [null, [1], 'x', 3]) {
      await expectRefused(await post({ basedOn: 1, patch }), 'patch', /JSON Merge Patch/);
    }
    await expectRefused(await post({ basedOn: 1 }), 'patch', /JSON Merge Patch/);
    await expectRefused(await post({ basedOn: 1, patch: { definition: [1] } }), 'patch.definition', /JSON Merge Patch/);
    await expectRefused(await post({ basedOn: 1, patch: { outfits: [] } }), 'patch.outfits', /unknown field/);
    await expectRefused(await post({ basedOn: 1, patch: {}, definition: kaiDefinition }), 'definition', /unknown field/);
  });

  it('when the patch names a "__proto__" key in definition or attributes, then 400 names it instead of dropping it, and nothing is written', async () => {
    const before = await versions();
    // As the body parser builds it: JSON.parse makes "__proto__" an own key.
    for (const part of ['definition', 'attributes']) {
      const patch = JSON.parse(`{"${part}":{"__proto__":"x"}}`);
      await expectRefused(await post({ basedOn: 1, patch }), `patch.${part}.__proto__`, /__proto__/);
    }
    expect(await versions()).toBe(before);
  });

  it('when the patched result is invalid, then 400 says the patch produced it, names the field, and nothing is written', async () => {
    const before = await versions();
    const noName = await post({ basedOn: 1, patch: { definition: { displayName: null } } });
    await expectRefused(noName, 'definition.displayName', /the patch on version 1 produced an invalid version/);
    await expectRefused(await post({ basedOn: 1, patch: { definition: null } }), 'definition', /patch .* produced/);
    await expectRefused(await post({ basedOn: 1, patch: { definition: { outfits: [{ name: 'x' }] } } }), 'definition.outfits.0.prompt', /produced/);
    await expectRefused(await post({ basedOn: 1, patch: { attributes: { 'Bad Key': 1 } } }), 'attributes.Bad Key', /produced/);
    expect(await versions()).toBe(before);
  });

  it('when a patch sets a key an import kept (no schema field) to text with NUL or a lone surrogate, then 400 says the patch produced it, and nothing is written', async () => {
    await api.post('/api/v1/characters', { name: 'Sora', slug: 'sora', definition: kaiDefinition });
    const sora = await gateway.db.character.findUniqueOrThrow({ where: { slug: 'sora' } });
    // As an import writes it: a legacy key the schema has no field for, which a patch carries over.
    await gateway.db.characterVersion.create({ data: { characterId: sora.id, number: 2, definition: { ...kaiDefinition, voice_notes: 'soft' } } });
    const soraVersions = () => gateway.db.characterVersion.count({ where: { characterId: sora.id } });
    for (const value of ['a\u0000b', 'a\ud800b', { tone: '\udc00' }, ['\u0000']]) {
      const response = await api.post('/api/v1/characters/sora/versions', { basedOn: 2, patch: { definition: { voice_notes: value } } });
      await expectRefused(response, 'definition', /the patch on version 2 produced an invalid version: .*NUL characters or lone UTF-16 surrogates/);
    }
    expect(await soraVersions()).toBe(2);
    const kept = await api.post('/api/v1/characters/sora/versions', { basedOn: 2, patch: { definition: { voice_notes: 'low 声' } } });
    expect(kept.status).toBe(201);
    expect(kept.body.definition.voice_notes).toBe('low 声');
  });

  it('when a patch or a full version carries a key the schema has no field for (and no import kept) with NUL or a lone surrogate, then 400 naming it, and nothing is written', async () => {
    const before = await versions();
    // Such keys are dropped from the definition: the version was written anyway (201), the NUL silently lost.
    const patched = await post({ basedOn: 1, patch: { definition: { 'mood\u0000': 'calm' } } });
    expect(patched.status).toBe(400);
    expect(patched.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'patch.definition.mood\u0000', message: 'must not contain NUL characters or lone UTF-16 surrogates' }] });
    const full = await post({ definition: { ...kaiDefinition, mood: 'ca\ud800lm' } });
    expect(full.status).toBe(400);
    expect(full.body.error).toMatchObject({ code: 'validation_failed', details: [{ path: 'definition.mood', message: 'must not contain NUL characters or lone UTF-16 surrogates' }] });
    expect(await versions()).toBe(before);
  });

  it('when a patch sets a key an import kept to a number too large for JSON (1e999, read as Infinity), then 400 instead of storing null', async () => {
    const sora = await gateway.db.character.findUniqueOrThrow({ where: { slug: 'sora' } });
    const before = await gateway.db.characterVersion.count({ where: { characterId: sora.id } });
    const response = await fetch(`${gateway.baseUrl}/api/v1/characters/sora/versions`, {
      method: 'POST',
      headers: { ...gateway.authHeaders, 'content-type': 'application/json' },
      body: '{"basedOn":2,"patch":{"definition":{"voice_notes":{"pitch":1e999}}}}',
    });
    await expectRefused({ status: response.status, body: await response.json() }, 'definition', /produced an invalid version: .*too large for JSON/);
    expect(await gateway.db.characterVersion.count({ where: { characterId: sora.id } })).toBe(before);
  });

  it('when the patch passes a limit, then it is refused exactly as a full definition would be', async () => {
    const before = await versions();
    const many = Object.fromEntries(Array.from({ length: CHARACTER_LIMITS.attributesPerVersion }, (_, i) => [`extra_${i}`, i]));
    await expectRefused(await post({ basedOn: 1, patch: { attributes: many } }), 'attributes', new RegExp(`at most ${CHARACTER_LIMITS.attributesPerVersion} attributes`));
    const words = Array.from({ length: CHARACTER_LIMITS.triggerWords + 1 }, (_, i) => `w${i}`);
    await expectRefused(await post({ basedOn: 1, patch: { definition: { triggerWords: words } } }), 'definition.triggerWords', /produced/);
    await expectRefused(await post({ basedOn: 1, patch: { definition: { prompt: { positive: 'x'.repeat(4001) } } } }), 'definition.prompt.positive', /produced/);
    expect(await versions()).toBe(before);
  });

  it('when a full definition is posted, then it is still accepted as before', async () => {
    const response = await post({ definition: kaiDefinition, attributes: { hair_color: 'black' } });
    expect(response.status).toBe(201);
    expect(response.body.attributes).toEqual({ hair_color: 'black' });
  });

  it('when the character is archived, then a patch answers 409 character_archived like a full body', async () => {
    await api.post('/api/v1/characters', { name: 'Old', slug: 'old', definition: kaiDefinition });
    expect((await api.delete('/api/v1/characters/old')).status).toBe(200);
    const response = await api.post('/api/v1/characters/old/versions', { basedOn: 1, patch: {} });
    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('character_archived');
  });
});

describe('the OpenAPI document', () => {
  it('when read, then the versions body is a union of the full form and the patch form', async () => {
    const doc = (await gateway.client(null).get('/api/openapi.json')).body;
    const body = doc.paths['/api/v1/characters/{idOrSlug}/versions'].post.requestBody.content['application/json'].schema;
    const forms = (body.anyOf ?? body.oneOf) as { $ref?: string; required?: string[]; properties?: Record<string, unknown> }[];
    expect(forms).toHaveLength(2);
    const resolved = forms.map((form) => (form.$ref ? doc.components.schemas[form.$ref.split('/').pop()!] : form));
    expect(resolved.map((form) => Object.keys(form.properties ?? {}).sort())).toEqual(expect.arrayContaining([
      expect.arrayContaining(['definition', 'attributes', 'note']),
      ['basedOn', 'note', 'patch'],
    ]));
  });
});
