import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '@anime/db';
import { sha256Hex } from '@anime/media';
import { kaiDefinition } from './fixtures';
import { jsonClient, type JsonResponse } from './http-client';
import { jpeg, png, webp } from './images';
import { rawZip, type RawZipEntry } from './raw-zip';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

const UNCOMPRESSED_LIMIT = 256 * 1024;
const UPLOAD_LIMIT = 1024 * 1024;
const limits = { bundleMaxBytes: UPLOAD_LIMIT, bundleMaxUncompressedBytes: UNCOMPRESSED_LIMIT };

// The source is where characters are made and exported; the target starts as a fresh database.
let source: TestGateway;
let target: TestGateway;
let sourceApi: ReturnType<typeof jsonClient>;
let targetApi: ReturnType<typeof jsonClient>;

const face = png(32, 48, 7);
const faceSha = sha256Hex(face);
let body: Buffer;
let style: Buffer;
let bodySha: string;
let styleSha: string;

beforeAll(async () => {
  [body, style] = await Promise.all([jpeg(640, 480), webp(300, 200)]);
  [bodySha, styleSha] = [body, style].map(sha256Hex);
  [source, target] = await Promise.all([startTestGateway('bundles-source', limits), startTestGateway('bundles-target', limits)]);
  sourceApi = source.client();
  targetApi = target.client();

  const attributes = { hair_color: 'black', height_cm: 170, is_lead: true };
  expect((await sourceApi.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition, attributes, note: 'first draft' })).status).toBe(201);
  expect((await upload(sourceApi, 'kai', face, 'Front face', 'face')).status).toBe(201);
  const bodyRef = await upload(sourceApi, 'kai', body, 'Side', 'body');
  expect((await upload(sourceApi, 'kai', style, 'Palette', 'style')).status).toBe(201);
  const dyed = { ...kaiDefinition, appearance: { ...kaiDefinition.appearance, hair: 'short dark blue hair' } };
  expect((await sourceApi.post('/api/v1/characters/kai/versions', { definition: dyed, attributes: { ...attributes, hair_color: 'dark blue' }, note: 'dyed' })).status).toBe(201);
  expect((await sourceApi.delete(`/api/v1/characters/kai/references/${bodyRef.body.id}`)).status).toBe(204);
  expect((await sourceApi.post('/api/v1/characters/kai/versions', { definition: dyed, attributes: { hair_color: 'dark blue', height_cm: 172 } })).status).toBe(201);
});
afterAll(() => Promise.all([source?.close(), target?.close()]));

function upload(api: ReturnType<typeof jsonClient>, slug: string, bytes: Buffer, label: string, kind: string) {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.img`);
  form.set('label', label);
  form.set('kind', kind);
  return api.post(`/api/v1/characters/${slug}/references`, form);
}

async function exportZip(gateway: TestGateway, slug: string) {
  const response = await fetch(`${gateway.baseUrl}/api/v1/characters/${slug}/export`, { headers: gateway.authHeaders });
  expect(response.status).toBe(200);
  return { headers: response.headers, zip: Buffer.from(await response.arrayBuffer()) };
}

function importZip(api: ReturnType<typeof jsonClient>, zip: Buffer, query = ''): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([zip], { type: 'application/zip' }), 'bundle.zip');
  return api.post(`/api/v1/characters/import${query}`, form);
}

const expectError = (response: JsonResponse, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
};

async function libraryFiles(gateway: TestGateway): Promise<string[]> {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name))).sort();
}

async function rowCounts(db: Db) {
  return {
    characters: await db.character.count(),
    versions: await db.characterVersion.count(),
    attributes: await db.characterAttribute.count(),
    references: await db.characterReference.count(),
    links: await db.versionReference.count(),
  };
}

/** sha256s of the references each version was made with, by version number. */
async function linksByVersion(db: Db, slug: string): Promise<Record<number, string[]>> {
  const versions = await db.characterVersion.findMany({ where: { character: { slug } }, include: { references: { include: { reference: true } } } });
  return Object.fromEntries(versions.map((v) => [v.number, v.references.map((l) => l.reference.sha256).sort()]));
}

/** The files as zip entries, the manifest rewritten to match them: a bundle that lies only where a test makes it. */
function sealed(files: Map<string, Buffer>): RawZipEntry[] {
  const others = [...files].filter(([name]) => name !== 'manifest.json');
  const manifest = { format: 'anime-character-bundle', formatVersion: 1, files: others.map(([p, data]) => ({ path: p, sha256: sha256Hex(data), bytes: data.length })) };
  return [{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...others.map(([name, data]) => ({ name, data }))];
}

describe('character bundles', () => {
  let kaiZip: Buffer;
  let kaiId: string;

  it('when a character is exported, then the zip holds a manifest whose hashes match every file, all versions and every reference', async () => {
    const exported = await exportZip(source, 'kai');
    expect(exported.headers.get('content-type')).toBe('application/zip');
    expect(exported.headers.get('content-disposition')).toContain('kai.zip');
    kaiZip = exported.zip;
    const files = await unzip(kaiZip);

    const manifest = JSON.parse(files.get('manifest.json')!.toString());
    expect(manifest).toEqual({ format: 'anime-character-bundle', formatVersion: 1, files: expect.any(Array) });
    expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual([...files.keys()].filter((n) => n !== 'manifest.json').sort());
    for (const file of manifest.files) {
      expect(sha256Hex(files.get(file.path)!)).toBe(file.sha256);
      expect(files.get(file.path)!.length).toBe(file.bytes);
    }

    const character = JSON.parse(files.get('character.json')!.toString());
    const detail = (await sourceApi.get('/api/v1/characters/kai')).body;
    kaiId = detail.id;
    expect(character).toEqual(expect.objectContaining({ id: kaiId, slug: 'kai', name: 'Kai Nakamura', currentVersion: 3 }));
    const versions = (await sourceApi.get('/api/v1/characters/kai/versions')).body.items;
    expect(
      character.versions.map((v: any) => ({
        number: v.number,
        definition: v.definition,
        attributes: Object.fromEntries(v.attributes.map((a: any) => [a.key, a.value])),
        note: v.note,
        createdAt: v.createdAt,
      })),
    ).toEqual(versions);
    expect(character.versions[0].attributes).toEqual(
      expect.arrayContaining([{ key: 'height_cm', type: 'number', value: 170 }, { key: 'is_lead', type: 'boolean', value: true }]),
    );
    expect(character.versions.map((v: any) => v.references)).toEqual([[], [faceSha, bodySha, styleSha].sort(), [faceSha, styleSha].sort()]);

    expect(character.references).toEqual([
      expect.objectContaining({ sha256: faceSha, label: 'Front face', kind: 'face', mime: 'image/png', width: 32, height: 48, bytes: face.length, detached: false, file: `references/${faceSha}.png` }),
      expect.objectContaining({ sha256: bodySha, label: 'Side', kind: 'body', mime: 'image/jpeg', width: 640, height: 480, detached: true, file: `references/${bodySha}.jpg` }),
      expect.objectContaining({ sha256: styleSha, label: 'Palette', kind: 'style', mime: 'image/webp', width: 300, height: 200, detached: false, file: `references/${styleSha}.webp` }),
    ]);
    expect(files.get(`references/${faceSha}.png`)).toEqual(face);
    expect(files.get(`references/${bodySha}.jpg`)).toEqual(body);
  });

  it('when the bundle is imported into a fresh database, then definitions, attributes, numbers, notes and reference hashes are the same', async () => {
    const response = await importZip(targetApi, kaiZip);
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/api/v1/characters/kai');
    expect(response.body).toEqual({ character: expect.objectContaining({ id: kaiId, slug: 'kai' }), created: true, versionsAdded: [1, 2, 3], referencesAdded: 3 });

    expect((await targetApi.get('/api/v1/characters/kai/versions')).body).toEqual((await sourceApi.get('/api/v1/characters/kai/versions')).body);
    const withoutIds = (detail: any) => ({ ...detail, references: detail.references.map(({ id, url, ...rest }: any) => rest) });
    const targetDetail = (await targetApi.get('/api/v1/characters/kai')).body;
    expect(withoutIds(targetDetail)).toEqual(withoutIds((await sourceApi.get('/api/v1/characters/kai')).body));
    expect(await linksByVersion(target.db, 'kai')).toEqual(await linksByVersion(source.db, 'kai'));
    expect(await target.db.characterReference.findFirst({ where: { sha256: bodySha } })).toEqual(expect.objectContaining({ detachedAt: expect.any(Date), label: 'Side' }));

    for (const reference of targetDetail.references) {
      const file = await fetch(`${target.baseUrl}${reference.url}`, { headers: target.authHeaders });
      expect(file.status).toBe(200);
      expect(sha256Hex(Buffer.from(await file.arrayBuffer()))).toBe(reference.sha256);
    }
  });

  it('when the same bundle is imported again, here or where it came from, then 200 answers with what exists and nothing is written', async () => {
    for (const [gateway, api] of [[target, targetApi], [source, sourceApi]] as const) {
      const [rows, files] = [await rowCounts(gateway.db), await libraryFiles(gateway)];
      const again = await importZip(api, kaiZip);
      expect(again.status).toBe(200);
      expect(again.body).toEqual({ character: expect.objectContaining({ id: kaiId, slug: 'kai', versionCount: 3 }), created: false, versionsAdded: [], referencesAdded: 0 });
      expect(await rowCounts(gateway.db)).toEqual(rows);
      expect(await libraryFiles(gateway)).toEqual(files);
    }
  });

  it('when both sides gained versions, then the import appends only the one the target lacks, as its next number', async () => {
    const localOnly = { ...kaiDefinition, description: 'made on the target' };
    expect((await targetApi.post('/api/v1/characters/kai/versions', { definition: localOnly })).status).toBe(201);
    const exportedOnly = { ...kaiDefinition, description: 'made on the source' };
    expect((await sourceApi.post('/api/v1/characters/kai/versions', { definition: exportedOnly, note: 'v4 at the source' })).status).toBe(201);

    const response = await importZip(targetApi, (await exportZip(source, 'kai')).zip);
    expect(response.status).toBe(201);
    expect(response.body).toEqual(expect.objectContaining({ created: false, versionsAdded: [5], referencesAdded: 0 }));
    const fifth = (await targetApi.get('/api/v1/characters/kai/versions/5')).body;
    expect(fifth).toEqual(expect.objectContaining({ definition: (await sourceApi.get('/api/v1/characters/kai/versions/4')).body.definition, note: 'v4 at the source' }));
    expect(response.body.character.currentVersion.number).toBe(5);
    expect((await importZip(targetApi, (await exportZip(source, 'kai')).zip)).status).toBe(200);
  });

  it('when a bundle is imported where it came from with ?as=<new-slug>, then a copy is made under a new id, and importing it again with ?as finds the copy', async () => {
    const { zip } = await exportZip(source, 'kai');
    const original = (await sourceApi.get('/api/v1/characters/kai')).body;
    const response = await importZip(sourceApi, zip, '?as=kai-fork');
    expect(response.status).toBe(201);
    expect(response.body.character).toEqual(expect.objectContaining({ slug: 'kai-fork', name: original.name }));
    expect(response.body.character.id).not.toBe(original.id);
    expect(response.body.versionsAdded).toEqual(Array.from({ length: original.versionCount }, (_, i) => i + 1));
    for (let n = 1; n <= original.versionCount; n++) {
      const [copy, from] = [await sourceApi.get(`/api/v1/characters/kai-fork/versions/${n}`), await sourceApi.get(`/api/v1/characters/kai/versions/${n}`)];
      expect({ definition: copy.body.definition, attributes: copy.body.attributes }).toEqual({ definition: from.body.definition, attributes: from.body.attributes });
    }
    const [rows, files] = [await rowCounts(source.db), await libraryFiles(source)];
    const again = await importZip(sourceApi, zip, '?as=kai-fork');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(expect.objectContaining({ created: false, versionsAdded: [], referencesAdded: 0 }));
    expect(again.body.character.id).toBe(response.body.character.id);
    expect(await rowCounts(source.db)).toEqual(rows);
    expect(await libraryFiles(source)).toEqual(files);
  });

  describe('when the slug belongs to another character', () => {
    let mioZip: Buffer;

    beforeAll(async () => {
      expect((await targetApi.post('/api/v1/characters', { name: 'Mio (target)', slug: 'mio', definition: { displayName: 'Mio T' } })).status).toBe(201);
      expect((await sourceApi.post('/api/v1/characters', { name: 'Mio', slug: 'mio', definition: { displayName: 'Mio' } })).status).toBe(201);
      expect((await upload(sourceApi, 'mio', png(8, 8, 99), 'mio face', 'face')).status).toBe(201);
      mioZip = (await exportZip(source, 'mio')).zip;
    });

    it('then 409 slug_taken and nothing is written', async () => {
      const [rows, files] = [await rowCounts(target.db), await libraryFiles(target)];
      const response = await importZip(targetApi, mioZip);
      expectError(response, 409, 'slug_taken');
      expect(response.body.error.details).toEqual({ slug: 'mio' });
      expect(await rowCounts(target.db)).toEqual(rows);
      expect(await libraryFiles(target)).toEqual(files);
    });

    it('then ?as=<new-slug> imports it under that slug, and later imports find it by id', async () => {
      expectError(await importZip(targetApi, mioZip, '?as=Not%20A%20Slug'), 400, 'validation_failed');
      const response = await importZip(targetApi, mioZip, '?as=mio-copy');
      expect(response.status).toBe(201);
      expect(response.body.character).toEqual(expect.objectContaining({ slug: 'mio-copy', name: 'Mio', id: (await sourceApi.get('/api/v1/characters/mio')).body.id }));
      expect((await libraryFiles(target)).filter((f) => f.startsWith('references/mio-copy/'))).toHaveLength(1);
      const again = await importZip(targetApi, mioZip);
      expect(again.status).toBe(200);
      expect(again.body.character.slug).toBe('mio-copy');
    });

    it('then an archived match is 409 character_archived on import, while its export still works', async () => {
      expect((await targetApi.delete('/api/v1/characters/mio-copy')).status).toBe(200);
      expectError(await importZip(targetApi, mioZip), 409, 'character_archived');
      const files = await unzip((await exportZip(target, 'mio-copy')).zip);
      expect(JSON.parse(files.get('character.json')!.toString()).slug).toBe('mio-copy');
    });
  });

  describe('when the archive is hostile', () => {
    let rin: Map<string, Buffer>;
    let rinPng: string;
    const honest = () => sealed(rin);

    beforeAll(async () => {
      expect((await sourceApi.post('/api/v1/characters', { name: 'Rin', slug: 'rin', definition: { displayName: 'Rin' }, attributes: { eye_color: 'green' } })).status).toBe(201);
      expect((await upload(sourceApi, 'rin', png(16, 16, 5), 'rin', 'face')).status).toBe(201);
      expect((await sourceApi.post('/api/v1/characters/rin/versions', { definition: { displayName: 'Rin', description: 'older' } })).status).toBe(201);
      rin = await unzip((await exportZip(source, 'rin')).zip);
      rinPng = [...rin.keys()].find((n) => n.startsWith('references/'))!;
    });

    function textDeclaredAsPng(): Buffer {
      const text = Buffer.from('this is plain text, not an image\n');
      const textSha = sha256Hex(text);
      const character = JSON.parse(rin.get('character.json')!.toString());
      const oldSha = character.references[0].sha256;
      character.references[0] = { ...character.references[0], sha256: textSha, bytes: text.length, file: `references/${textSha}.png` };
      for (const version of character.versions) version.references = version.references.map((sha: string) => (sha === oldSha ? textSha : sha));
      const files = new Map(rin);
      files.delete(rinPng);
      files.set('character.json', Buffer.from(JSON.stringify(character)));
      files.set(`references/${textSha}.png`, text);
      return rawZip(sealed(files));
    }

    /** Rin's bundle with character.json changed by `edit`, the manifest resealed to match. */
    function withCharacter(edit: (character: { versions: { createdAt: string }[]; references: { createdAt: string }[] }) => void): Buffer {
      const character = JSON.parse(rin.get('character.json')!.toString());
      edit(character);
      return rawZip(sealed(new Map(rin).set('character.json', Buffer.from(JSON.stringify(character)))));
    }

    /** Rin's bundle whose first version's definition holds a key the schema has no field for, set to `1e999` (JSON.parse reads Infinity). */
    function keptKeyTooLargeForJson(): Buffer {
      const character = JSON.parse(rin.get('character.json')!.toString());
      character.versions[0].definition.legacy_strength = 'TOO_LARGE';
      const text = JSON.stringify(character).replace('"TOO_LARGE"', '1e999');
      return rawZip(sealed(new Map(rin).set('character.json', Buffer.from(text))));
    }

    const cases: [string, () => Buffer, () => string][] = [
      ['an entry named ../evil.png', () => rawZip([...honest(), { name: '../evil.png', data: face }]), () => '../evil.png'],
      ['an absolute entry /etc/x', () => rawZip([...honest(), { name: '/etc/x', data: Buffer.from('x') }]), () => '/etc/x'],
      ['a symbolic link', () => rawZip([...honest(), { name: 'references/link.png', data: Buffer.from('/etc/passwd'), unixMode: 0o120777 }]), () => 'references/link.png'],
      [
        'more bytes than the limit once uncompressed',
        () => rawZip([...honest(), { name: 'references/padding.png', data: Buffer.alloc(UNCOMPRESSED_LIMIT), method: 8 }]),
        () => 'references/padding.png',
      ],
      [
        'a zip bomb lying about its uncompressed size',
        () => rawZip([...honest(), { name: 'references/bomb.png', data: Buffer.alloc(UNCOMPRESSED_LIMIT * 4), method: 8, declaredSize: 100 }]),
        () => 'references/bomb.png',
      ],
      ['a file that does not match its manifest hash', () => rawZip(honest().map((e) => (e.name === rinPng ? { ...e, data: png(16, 16, 6) } : e))), () => rinPng],
      ['a text file declared as a PNG', textDeclaredAsPng, () => 'is declared image/png'],
      ['a file the manifest does not list', () => rawZip([...honest(), { name: 'notes.txt', data: Buffer.from('hello') }]), () => 'notes.txt'],
      ['the same entry twice', () => rawZip([...honest(), honest()[1]]), () => 'appears twice'],
      ['a manifest listing a file the archive does not hold', () => rawZip(honest().filter((e) => e.name !== rinPng)), () => rinPng],
      [
        'a manifest.json of 17 MiB (whitespace, deflated small)',
        () => rawZip([{ ...honest()[0], data: Buffer.concat([honest()[0].data!, Buffer.alloc(17 * 1024 * 1024, 0x20)]), method: 8 }, ...honest().slice(1)]),
        () => 'manifest.json',
      ],
      ['no manifest', () => rawZip(honest().slice(1)), () => 'manifest.json'],
      ['no zip at all', () => Buffer.from('PK? not really a zip'), () => 'not a readable zip'],
      // ISO 8601 allows the year 0000, PostgreSQL's timestamps do not: once a 500 from the insert.
      ['a version dated in the year 0000', () => withCharacter((c) => (c.versions[0].createdAt = '0000-06-01T00:00:00Z')), () => 'versions.0.createdAt'],
      ['a reference dated in the year 0000', () => withCharacter((c) => (c.references[0].createdAt = '0000-01-01T00:00:00Z')), () => 'references.0.createdAt'],
      // Once stored as null, silently: a kept key bypasses the schema, which refuses Infinity in its own fields.
      ['a kept definition key holding 1e999', keptKeyTooLargeForJson, () => 'numbers too large for JSON'],
    ];

    it.each(cases)('holding %s, then 400 invalid_bundle names it, and no row or file is left behind', async (_what, build, named) => {
      const [rows, files] = [await rowCounts(target.db), await libraryFiles(target)];
      const response = await importZip(targetApi, build());
      expectError(response, 400, 'invalid_bundle');
      expect(response.body.error.message).toContain(named());
      expect(await rowCounts(target.db)).toEqual(rows);
      expect(await libraryFiles(target)).toEqual(files);
    });

    it('when the upload has no file part, is not multipart or is over BUNDLE_MAX_BYTES, then 400, 415 or 413', async () => {
      const form = new FormData();
      form.set('label', 'no file');
      expectError(await targetApi.post('/api/v1/characters/import', form), 400, 'validation_failed');
      expectError(await targetApi.post('/api/v1/characters/import', { file: 'x' }), 415, 'unsupported_media_type');
      expectError(await importZip(targetApi, Buffer.alloc(UPLOAD_LIMIT + 1)), 413, 'payload_too_large');
    });

    it('when the crafted archive is honest, then it imports: each hostile case differs only in what it breaks', async () => {
      const response = await importZip(targetApi, rawZip(honest()));
      expect(response.status).toBe(201);
      expect(response.body).toEqual(expect.objectContaining({ created: true, versionsAdded: [1, 2], referencesAdded: 1 }));
    });
  });

  describe('when the character came from the legacy importer', () => {
    beforeAll(async () => {
      expect((await sourceApi.post('/api/v1/characters', { name: 'Sora', slug: 'sora', definition: { displayName: 'Sora' } })).status).toBe(201);
      const sora = await source.db.character.findUniqueOrThrow({ where: { slug: 'sora' } });
      // As the legacy importer writes them: an image it could not find, and keys the schema has no field for.
      const lost = await source.db.characterReference.create({
        data: { characterId: sora.id, label: 'lost', path: 'legacy/lost.png', sha256: 'missing:legacy-reference-1', bytes: 0, mime: 'application/octet-stream', missing: true },
      });
      await source.db.characterVersion.create({
        data: { characterId: sora.id, number: 2, definition: { ...kaiDefinition, displayName: 'Sora', voice_notes: 'soft' }, references: { create: [{ referenceId: lost.id }] } },
      });
      await source.db.character.update({ where: { id: sora.id }, data: { currentVersion: 2 } });
    });

    it('then the export leaves the missing image out and counts it, the import keeps the legacy keys, and importing back finds every version', async () => {
      const exported = await exportZip(source, 'sora');
      expect(exported.headers.get('x-bundle-omitted-references')).toBe('1');
      expect(JSON.parse((await unzip(exported.zip)).get('character.json')!.toString()).references).toEqual([]);
      expect((await importZip(targetApi, exported.zip)).status).toBe(201);
      expect((await targetApi.get('/api/v1/characters/sora/versions/2')).body.definition).toEqual(expect.objectContaining({ voice_notes: 'soft' }));
      expect((await importZip(sourceApi, exported.zip)).status).toBe(200);
    });

    it('then a slug the API would not make (one that looks like an id) still travels: a new character needs ?as=, the one it came from merges', async () => {
      const oddSlug = '0b7e5a52-8d1c-4f55-9c3e-2f7d9a1b6c40';
      expect((await sourceApi.post('/api/v1/characters', { name: 'Uuid Slug', slug: 'uuid-slug', definition: { displayName: 'Uuid Slug' } })).status).toBe(201);
      // As a legacy system whose slugs were uuids leaves them after the legacy import.
      await source.db.character.update({ where: { slug: 'uuid-slug' }, data: { slug: oddSlug } });
      const exported = await exportZip(source, oddSlug);
      const [rows, files] = [await rowCounts(target.db), await libraryFiles(target)];
      const refused = await importZip(targetApi, exported.zip);
      expectError(refused, 400, 'invalid_bundle');
      expect(refused.body.error.message).toContain('?as=');
      expect(await rowCounts(target.db)).toEqual(rows);
      expect(await libraryFiles(target)).toEqual(files);
      const copied = await importZip(targetApi, exported.zip, '?as=uuid-slug-copy');
      expect(copied.status).toBe(201);
      expect(copied.body.character).toEqual(expect.objectContaining({ slug: 'uuid-slug-copy', name: 'Uuid Slug' }));
      expect((await importZip(sourceApi, exported.zip)).status).toBe(200);
    });

    it('then a file gone from the library makes the export 409 bundle_incomplete', async () => {
      const stored = await upload(sourceApi, 'sora', png(4, 4, 77), 'gone', 'other');
      const row = await source.db.characterReference.findUniqueOrThrow({ where: { id: stored.body.id } });
      await rm(path.join(source.libraryDir, row.path));
      const broken = await sourceApi.get('/api/v1/characters/sora/export');
      expectError(broken, 409, 'bundle_incomplete');
      expect(broken.body.error.details).toEqual({ referenceId: row.id, references: [{ id: row.id, label: 'gone', sha256: row.sha256, reason: 'gone' }] });
    });

    it('then a file found gone and marked missing is still not left out of the export quietly: 409 bundle_incomplete until it is back', async () => {
      const row = await source.db.characterReference.findFirstOrThrow({ where: { character: { slug: 'sora' }, label: 'gone' } });
      expect((await sourceApi.get('/api/v1/characters/sora')).body.references).toContainEqual(expect.objectContaining({ id: row.id, missing: true }));
      expect((await source.db.characterReference.findUniqueOrThrow({ where: { id: row.id } })).missing).toBe(true);
      expectError(await sourceApi.get('/api/v1/characters/sora/export'), 409, 'bundle_incomplete');
    });
  });

  it('when the character is unknown, then export is 404 character_not_found', async () => {
    expectError(await sourceApi.get('/api/v1/characters/nobody/export'), 404, 'character_not_found');
  });
});
