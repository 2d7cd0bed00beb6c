import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';
import { encodePng } from '@anime/comfyui-simulator';
import { CHARACTER_LIMITS } from '@anime/contracts';
import { sha256Hex } from '@anime/media';
import { heldGrowth, streamedGet } from './held-memory';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { rawZip, type RawZipEntry } from './raw-zip';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// How many references and versions one character may hold: each attached reference is uploaded to
// the backends and becomes a LoadImage node of every job, and a bundle carries every version and image.
const { attachedReferences: MAX_ATTACHED, storedReferences: MAX_STORED, versions: MAX_VERSIONS } = CHARACTER_LIMITS;

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  // Hundreds of requests in a row from one key: the request rate is not what is tested here.
  // Reading ~100 MB of versions and images: on a CI machine whose two cores a whole stack next door
  // keeps busy, this file ran 5× slower than alone, and a 10 s query timeout cut a listing (aborted).
  gateway = await startTestGateway('character-capacity', { limits: { RATE_LIMIT_RPS: 1_000_000 }, queryTimeoutMs: 60_000 });
  api = gateway.client();
});
afterAll(() => gateway?.close());

/** A distinct, decodable PNG for each n. */
const image = (n: number) => png(8 + (n >> 8), 8, n & 0xff);

function upload(slug: string, bytes: Buffer, label = 'ref', kind = 'face'): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  form.set('kind', kind);
  return api.post(`/api/v1/characters/${slug}/references`, form);
}

async function createCharacter(slug: string): Promise<string> {
  const response = await api.post('/api/v1/characters', { name: slug, slug, definition: { displayName: slug } });
  expect(response.status).toBe(201);
  return response.body.id;
}

async function libraryFiles(): Promise<string[]> {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name))).sort();
}

const references = (characterId: string) => gateway.db.characterReference.count({ where: { characterId } });

function expectTooMany(response: JsonResponse, code: string, named: string) {
  expect(response.status).toBe(409);
  expect(response.body.error).toEqual(expect.objectContaining({ code, message: expect.stringContaining(named) }));
}

/** Reference rows written straight to the database, detached: the history a character gathers over time. */
async function detachedRows(characterId: string, count: number): Promise<void> {
  await gateway.db.characterReference.createMany({
    data: Array.from({ length: count }, (_, i) => {
      const sha256 = sha256Hex(Buffer.from(`${characterId}-${i}`));
      return { characterId, label: `old ${i}`, kind: 'other' as const, path: `references/old/${sha256}.png`, sha256, bytes: 1, mime: 'image/png', detachedAt: new Date() };
    }),
  });
}

describe('references per character', () => {
  it(`when ${MAX_ATTACHED} references are attached, then the next upload is 409 too_many_references naming the limit, and nothing is written`, async () => {
    const id = await createCharacter('full');
    for (let n = 0; n < MAX_ATTACHED; n++) expect((await upload('full', image(n), `ref ${n}`)).status).toBe(201);
    const [rows, files] = [await references(id), await libraryFiles()];

    const refused = await upload('full', image(MAX_ATTACHED));
    expectTooMany(refused, 'too_many_references', `at most ${MAX_ATTACHED} references may be attached`);
    expect(refused.body.error.details).toEqual(expect.objectContaining({ max: MAX_ATTACHED, attached: MAX_ATTACHED }));
    expect(await references(id)).toBe(rows);
    expect(await libraryFiles()).toEqual(files);

    // Bytes already attached are not a new reference: the same answer as before, 200.
    expect((await upload('full', image(0))).status).toBe(200);
  });

  it('when one is detached, then there is room for one more; a detached one attached again takes that room too', async () => {
    const listed = await api.get('/api/v1/characters/full/references');
    expect(listed.body.items).toHaveLength(MAX_ATTACHED);
    expect((await api.delete(`/api/v1/characters/full/references/${listed.body.items[0].id}`)).status).toBe(204);
    // The detached bytes, attached again: no new row, but attached again, so the room is taken.
    expect((await upload('full', image(0))).status).toBe(201);
    expectTooMany(await upload('full', image(MAX_ATTACHED)), 'too_many_references', `at most ${MAX_ATTACHED}`);

    expect((await api.delete(`/api/v1/characters/full/references/${listed.body.items[1].id}`)).status).toBe(204);
    expect((await upload('full', image(MAX_ATTACHED))).status).toBe(201);
  });

  it('when many uploads race for the last places, then exactly as many as there is room for are attached', async () => {
    const id = await createCharacter('race');
    for (let n = 0; n < MAX_ATTACHED - 3; n++) expect((await upload('race', image(1000 + n))).status).toBe(201);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => upload('race', image(2000 + n))));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
    expect(await gateway.db.characterReference.count({ where: { characterId: id, detachedAt: null } })).toBe(MAX_ATTACHED);
  });

  it(`when a character holds ${MAX_STORED} reference images, detached ones included, then a new image is 409 naming that limit`, async () => {
    const id = await createCharacter('history');
    await detachedRows(id, MAX_STORED - 1);
    expect((await upload('history', image(3000))).status).toBe(201);
    const files = await libraryFiles();
    expectTooMany(await upload('history', image(3001)), 'too_many_references', `at most ${MAX_STORED} reference images per character`);
    expect(await references(id)).toBe(MAX_STORED);
    expect(await libraryFiles()).toEqual(files);
  });
});

describe('versions per character', () => {
  it(`when a character has ${MAX_VERSIONS} versions, then a new one is 409 too_many_versions naming the limit, and nothing is written`, async () => {
    const id = await createCharacter('long-lived');
    await gateway.db.characterVersion.createMany({
      data: Array.from({ length: MAX_VERSIONS - 2 }, (_, i) => ({ characterId: id, number: i + 2, definition: { displayName: `take ${i + 2}` } })),
    });
    await gateway.db.character.update({ where: { id }, data: { currentVersion: MAX_VERSIONS - 1 } });
    expect((await api.post('/api/v1/characters/long-lived/versions', { definition: { displayName: 'the last' } })).body.number).toBe(MAX_VERSIONS);

    const refused = await api.post('/api/v1/characters/long-lived/versions', { definition: { displayName: 'one too many' } });
    expectTooMany(refused, 'too_many_versions', `at most ${MAX_VERSIONS} versions per character`);
    expect(await gateway.db.characterVersion.count({ where: { characterId: id } })).toBe(MAX_VERSIONS);
    const patched = await api.post('/api/v1/characters/long-lived/versions', { basedOn: 1, patch: { definition: { description: 'x' } } });
    expectTooMany(patched, 'too_many_versions', `at most ${MAX_VERSIONS} versions`);
  });
});

describe('bundles within the reference limits', () => {
  let kai: Map<string, Buffer>;

  beforeAll(async () => {
    await createCharacter('kai');
    expect((await upload('kai', image(4000))).status).toBe(201);
    const response = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/export`, { headers: gateway.authHeaders });
    expect(response.status).toBe(200);
    kai = await unzip(Buffer.from(await response.arrayBuffer()));
  });

  /** Kai's bundle under a new id and slug holding `count` new images, all attached and in version 1 unless `edit` says otherwise. */
  function bundleWith(count: number, edit: (character: any, files: Map<string, Buffer>) => void = () => undefined): Buffer {
    const character = JSON.parse(kai.get('character.json')!.toString());
    const files = new Map<string, Buffer>();
    character.id = randomUUID();
    character.slug = `kai-${character.id.slice(0, 8)}`;
    character.references = Array.from({ length: count }, (_, n) => {
      const bytes = image(5000 + n);
      const sha256 = sha256Hex(bytes);
      const file = `references/${sha256}.png`;
      files.set(file, bytes);
      return { ...character.references[0], sha256, bytes: bytes.length, width: 8 + ((5000 + n) >> 8), height: 8, file, label: `ref ${n}`, detached: false };
    });
    character.versions[0].references = character.references.map((r: { sha256: string }) => r.sha256);
    edit(character, files);
    files.set('character.json', Buffer.from(JSON.stringify(character)));
    const entries: RawZipEntry[] = [...files].map(([name, data]) => ({ name, data }));
    const manifest = { format: 'anime-character-bundle', formatVersion: 1, files: entries.map((e) => ({ path: e.name, sha256: sha256Hex(e.data!), bytes: e.data!.length })) };
    return rawZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...entries]);
  }

  function importZip(zip: Buffer, query = ''): Promise<JsonResponse> {
    const form = new FormData();
    form.set('file', new Blob([zip], { type: 'application/zip' }), 'bundle.zip');
    return api.post(`/api/v1/characters/import${query}`, form);
  }

  async function rowsAndFiles() {
    return { references: await gateway.db.characterReference.count(), versions: await gateway.db.characterVersion.count(), files: await libraryFiles() };
  }

  it(`when a version is made with ${MAX_ATTACHED + 1} references or as many are attached, then 400 invalid_bundle names the limit and nothing is written`, async () => {
    const before = await rowsAndFiles();
    const tooManyInVersion = await importZip(bundleWith(MAX_ATTACHED + 1, (c) => c.references.forEach((r: { detached: boolean }, i: number) => (r.detached = i > 0))));
    expect(tooManyInVersion.status).toBe(400);
    expect(tooManyInVersion.body.error).toEqual(expect.objectContaining({ code: 'invalid_bundle', message: expect.stringContaining(`at most ${MAX_ATTACHED} references per version`) }));

    const tooManyAttached = await importZip(bundleWith(MAX_ATTACHED + 1, (c) => (c.versions[0].references = [])));
    expect(tooManyAttached.status).toBe(400);
    expect(tooManyAttached.body.error).toEqual(expect.objectContaining({ code: 'invalid_bundle', message: expect.stringContaining(`at most ${MAX_ATTACHED} attached references`) }));
    expect(await rowsAndFiles()).toEqual(before);
  });

  it(`when a bundle holds ${MAX_ATTACHED} attached references, then it imports`, async () => {
    const response = await importZip(bundleWith(MAX_ATTACHED));
    expect(response.status).toBe(201);
    expect(response.body.referencesAdded).toBe(MAX_ATTACHED);
  });

  it('when merging would leave the character with more attached references than allowed, then 409 too_many_references and nothing is written', async () => {
    // Kai's own bundle (his id: a merge) bringing as many new attached images as may be attached at
    // all; his own image is in it too, detached there, and he has it attached already.
    const grown = bundleWith(MAX_ATTACHED, (c, files) => {
      const original = JSON.parse(kai.get('character.json')!.toString());
      Object.assign(c, { id: original.id, slug: original.slug });
      c.references.push({ ...original.references[0], detached: true });
      files.set(original.references[0].file, kai.get(original.references[0].file)!);
      c.versions = [original.versions[0], { ...original.versions[0], number: 2, references: c.references.slice(0, 10).map((r: { sha256: string }) => r.sha256), note: 'more images' }];
    });
    const before = await rowsAndFiles();
    expectTooMany(await importZip(grown), 'too_many_references', `at most ${MAX_ATTACHED} references may be attached`);
    expect(await rowsAndFiles()).toEqual(before);
  });
});

describe("a character's whole history costs bounded memory to read", () => {
  const MiB = 1024 * 1024;
  const LONG = 150;

  /** About 700 KB of JSON: every list of a definition near its limit, in three-byte characters. */
  const bulky = (n: number) => {
    const text = (length: number, seed: string) => `${seed} ${'あ'.repeat(length)}`.slice(0, length);
    return {
      displayName: `take ${n}`,
      description: text(4000, `d${n}`),
      appearance: { hair: text(2000, 'h'), distinguishingFeatures: Array.from({ length: 50 }, (_, i) => text(2000, `f${i}`)) },
      outfits: Array.from({ length: 40 }, (_, i) => ({ name: `o${i}`, prompt: text(2000, `p${i}`), description: text(1000, 'q') })),
      prompt: { positive: text(4000, 'pos'), negative: text(4000, 'neg') },
    };
  };

  const streamed = (path: string, onChunk: (chunk: Buffer) => void) => streamedGet(`${gateway.baseUrl}${path}`, gateway.authHeaders, onChunk);

  /** `count` PNGs of random pixels (which do not compress: each file is as large as its pixels), put in the library and attached. */
  async function paintedReferences(characterId: string, count: number): Promise<{ shas: Set<string>; imageMiB: number }> {
    const shas = new Set<string>();
    let bytesTotal = 0;
    await mkdir(path.join(gateway.libraryDir, 'references/painted'), { recursive: true });
    for (let n = 0; n < count; n++) {
      const bytes = encodePng({ width: 1600, height: 1600, rgb: randomBytes(1600 * 1600 * 3) });
      const sha256 = sha256Hex(bytes);
      const file = `references/painted/${sha256.slice(0, 8)}-big-${n}.png`;
      await writeFile(path.join(gateway.libraryDir, file), bytes);
      await gateway.db.characterReference.create({ data: { characterId, label: `big ${n}`, kind: 'style', path: file, sha256, bytes: bytes.length, width: 1600, height: 1600, mime: 'image/png' } });
      shas.add(sha256);
      bytesTotal += bytes.length;
    }
    return { shas, imageMiB: bytesTotal / MiB };
  }

  beforeAll(async () => {
    const id = await createCharacter('epic');
    for (let start = 2; start < LONG + 2; start += 10) {
      await gateway.db.characterVersion.createMany({ data: Array.from({ length: 10 }, (_, i) => ({ characterId: id, number: start + i, definition: bulky(start + i) })) });
    }
    await gateway.db.character.update({ where: { id }, data: { currentVersion: LONG + 1 } });
  }, 300_000);

  it(`when a character has ${LONG} versions of ~700 KB, then listing them in a page of the most (200) sends every one in order while the gateway holds less than 40 MiB more`, async () => {
    const numbers: number[] = [];
    let bytes = 0;
    let head = '';
    let tail = '';
    const grown = await heldGrowth(async () => {
      const status = await streamed('/api/v1/characters/epic/versions?limit=200', (chunk) => {
        bytes += chunk.length;
        // A version's number opens its object; keep a chunk's end so a match split between two is found.
        const text = tail + chunk.toString('latin1');
        if (!head) head = text.slice(0, 40);
        for (const match of text.matchAll(/\{"number":(\d+),/g)) if (match.index + match[0].length > tail.length) numbers.push(Number(match[1]));
        tail = text.slice(-20);
      });
      expect(status).toBe(200);
    });
    console.log(`versions list: ${(bytes / MiB).toFixed(0)} MiB sent, held +${grown.toFixed(1)} MiB`);
    expect(bytes).toBeGreaterThan(LONG * 600_000);
    expect(head.startsWith('{"items":[{"number":1,')).toBe(true);
    expect(tail.endsWith('],"nextCursor":null}')).toBe(true);
    expect(numbers).toEqual(Array.from({ length: LONG + 1 }, (_, i) => i + 1));
    expect(grown).toBeLessThan(40);
  }, 300_000);

  it('when its versions outgrow what a bundle may hold, then the export is 409 bundle_too_large naming the limit, before holding them all', async () => {
    let answer = '';
    const grown = await heldGrowth(async () => {
      const status = await streamed('/api/v1/characters/epic/export', (chunk) => (answer += chunk.toString()));
      expect(status).toBe(409);
    });
    console.log(`export refused: held +${grown.toFixed(1)} MiB`);
    expect(JSON.parse(answer).error).toEqual(expect.objectContaining({ code: 'bundle_too_large', message: expect.stringContaining(`more than ${16 * MiB} bytes as character.json, the most a bundle may hold`) }));
    expect(grown).toBeLessThan(100);
  }, 300_000);

  it('when a bundle is merged into that character, then its versions are compared a batch at a time: the new version is added while the gateway holds less than 40 MiB more', async () => {
    const epic = await api.get('/api/v1/characters/epic');
    const first = await api.get('/api/v1/characters/epic/versions/1');
    const version = (number: number, definition: unknown) => ({ number, definition, attributes: [], note: null, createdAt: new Date().toISOString(), references: [] });
    const character = {
      id: epic.body.id,
      slug: 'epic',
      name: 'epic',
      currentVersion: 2,
      versions: [version(1, first.body.definition), version(2, { displayName: 'epic', description: 'from another studio' })],
      references: [],
    };
    const json = Buffer.from(JSON.stringify(character));
    const manifest = { format: 'anime-character-bundle', formatVersion: 1, files: [{ path: 'character.json', sha256: sha256Hex(json), bytes: json.length }] };
    const form = new FormData();
    form.set('file', new Blob([rawZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, { name: 'character.json', data: json }])]), 'epic.zip');
    let response: JsonResponse | undefined;
    const grown = await heldGrowth(async () => {
      response = await api.post('/api/v1/characters/import', form);
    });
    console.log(`merge into ${LONG + 1} versions: held +${grown.toFixed(1)} MiB`);
    expect(response!.status).toBe(201);
    expect(response!.body).toEqual(expect.objectContaining({ created: false, versionsAdded: [LONG + 2] }));
    expect(grown).toBeLessThan(40);
  }, 300_000);

  it('when a character has large reference images, then the export streams them from the library: every image in the zip, the gateway holding less than half its images', async () => {
    const { shas, imageMiB } = await paintedReferences(await createCharacter('painted'), 10);
    const zipPath = path.join(gateway.libraryDir, 'painted.zip');
    const grown = await heldGrowth(async () => {
      const file = createWriteStream(zipPath);
      expect(await streamed('/api/v1/characters/painted/export', (chunk) => file.write(chunk))).toBe(200);
      await new Promise((resolve) => file.end(resolve));
    });
    console.log(`export of ${imageMiB.toFixed(0)} MiB of images: held +${grown.toFixed(1)} MiB`);
    expect(grown).toBeLessThan(imageMiB / 2);

    const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
    const hashed = new Set<string>();
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.startsWith('references/')) continue;
      const hash = createHash('sha256');
      for await (const chunk of await zip.openReadStreamPromise(entry)) hash.update(chunk as Buffer);
      const sha256 = hash.digest('hex');
      expect(entry.fileName).toBe(`references/${sha256}.png`);
      hashed.add(sha256);
    }
    zip.close();
    expect(hashed).toEqual(shas);
  }, 300_000);
});
