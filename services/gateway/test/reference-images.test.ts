import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { sha256Hex } from '@anime/media';
import { jsonClient, type JsonResponse } from './http-client';
import { declaredPng, png } from './images';
import { rawZip } from './raw-zip';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// 64 × 64 = 4096 pixels pass; 65 × 64 does not.
const MAX_PIXELS = 4096;
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('reference-images', { referenceMaxPixels: MAX_PIXELS });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: { displayName: 'Kai' } })).status).toBe(201);
});
afterAll(() => gateway?.close());

const upload = (bytes: Buffer) => {
  const form = new FormData();
  form.set('file', new Blob([bytes]), 'image.png');
  form.set('label', 'probe');
  return api.post('/api/v1/characters/kai/references', form);
};

async function stored() {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return {
    files: entries.filter((e) => e.isFile()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name))),
    rows: await gateway.db.characterReference.count(),
  };
}

const expectError = (response: JsonResponse, status: number, code: string) => {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
};

const whole = png(64, 64, 3);
const cases: [string, () => Buffer, number, string][] = [
  ['a header-only PNG (IHDR and IEND, no pixel data)', () => declaredPng(10, 10), 400, 'invalid_image'],
  ['a truncated PNG', () => whole.subarray(0, whole.length - 20), 400, 'invalid_image'],
  ['a PNG declaring 60000×60000 over 1 KB of data (decompression bomb)', () => declaredPng(60_000, 60_000, deflateSync(Buffer.alloc(1000))), 413, 'payload_too_large'],
  ['a PNG whose header declares a width beyond 2^31', () => declaredPng(0xfffffff0, 16), 400, 'invalid_image'],
  ['a whole PNG with more pixels than REFERENCE_MAX_PIXELS', () => png(65, 64), 413, 'payload_too_large'],
];

describe('uploaded reference images are decoded whole before anything is stored', () => {
  it.each(cases)('when the upload is %s, then it is refused and no file or row is written', async (_what, build, status, code) => {
    const before = await stored();
    expectError(await upload(build()), status, code);
    expect(await stored()).toEqual(before);
  });

  it('when the image is whole and within the limit, then the exact bytes are stored with the decoded size', async () => {
    const response = await upload(whole);
    expect(response.status).toBe(201);
    expect(response.body).toEqual(expect.objectContaining({ sha256: sha256Hex(whole), width: 64, height: 64, mime: 'image/png' }));
  });

  it('when a bundle carries a decompression-bomb PNG under its true hash, then the import is 413 and nothing is stored', async () => {
    const exported = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/export`, { headers: gateway.authHeaders });
    const files = await unzip(Buffer.from(await exported.arrayBuffer()));
    const bomb = declaredPng(60_000, 60_000, deflateSync(Buffer.alloc(1000)));
    const bombSha = sha256Hex(bomb);
    const character = JSON.parse(files.get('character.json')!.toString());
    const [reference] = character.references;
    const oldFile = reference.file;
    Object.assign(reference, { sha256: bombSha, bytes: bomb.length, file: `references/${bombSha}.png` });
    for (const version of character.versions) version.references = version.references.map(() => bombSha);
    files.delete(oldFile);
    files.set('character.json', Buffer.from(JSON.stringify(character)));
    files.set(reference.file, bomb);
    const entries = [...files].filter(([name]) => name !== 'manifest.json');
    const manifest = { format: 'anime-character-bundle', formatVersion: 1, files: entries.map(([p, data]) => ({ path: p, sha256: sha256Hex(data), bytes: data.length })) };
    const zip = rawZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...entries.map(([name, data]) => ({ name, data }))]);

    const before = await stored();
    const form = new FormData();
    form.set('file', new Blob([zip]), 'bundle.zip');
    const response = await api.post('/api/v1/characters/import?as=kai-bomb', form);
    expectError(response, 413, 'payload_too_large');
    expect(response.body.error.message).toContain(reference.file);
    expect(await stored()).toEqual(before);
  });
});
