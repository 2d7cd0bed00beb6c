import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A folder standing at a reference's library path (made by hand, a sync tool, a bad restore): every
// route that reads the file treats it as it treats a missing file, and a write of the file back onto
// it is refused as the library refusing a write (an operator moves the folder), never a 500.
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
const front = png(20, 30, 41);
let healthyZip: Buffer;
let row: { id: string; path: string };

function upload(bytes: Buffer, label: string): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  return api.post('/api/v1/characters/mio/references', form);
}

function importZip(zip: Buffer): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([zip], { type: 'application/zip' }), 'bundle.zip');
  return api.post('/api/v1/characters/import', form);
}

const raw = (route: string) => fetch(`${gateway.baseUrl}${route}`, { headers: gateway.authHeaders });
const folderAtPath = async () => {
  const file = path.join(gateway.libraryDir, row.path);
  await rm(file, { recursive: true, force: true });
  await mkdir(path.join(file, 'inside'), { recursive: true });
};
const partials = async () => (await readdir(gateway.libraryDir, { recursive: true })).filter((name) => name.endsWith('.partial'));

const refusedForTheFolder = {
  status: 503,
  body: { error: { code: 'library_unavailable', message: expect.stringContaining('(EISDIR)'), details: { reason: 'EISDIR' } } },
};

beforeAll(async () => {
  gateway = await startTestGateway('fixc-ref-folder');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Mio', slug: 'mio', definition: { displayName: 'Mio' } })).status).toBe(201);
  expect((await upload(front, 'front')).status).toBe(201);
  const exported = await raw('/api/v1/characters/mio/export');
  expect(exported.status).toBe(200);
  healthyZip = Buffer.from(await exported.arrayBuffer());
  row = await gateway.db.characterReference.findFirstOrThrow({ where: { character: { slug: 'mio' } } });
});
afterAll(() => gateway?.close());

describe('a folder where a reference image is kept', () => {
  it('when the character, its references, the file and its export are read, then the reference is missing (410 for the file, 409 bundle_incomplete for the export), never a 500', async () => {
    await folderAtPath();
    const detail = await api.get('/api/v1/characters/mio');
    expect({ status: detail.status, missing: detail.body.references.map((r: { missing: boolean }) => r.missing) }).toEqual({ status: 200, missing: [true] });
    const list = await api.get('/api/v1/characters/mio/references');
    expect({ status: list.status, missing: list.body.items.map((r: { missing: boolean }) => r.missing) }).toEqual({ status: 200, missing: [true] });
    const file = await raw(`/api/v1/characters/mio/references/${row.id}/file`);
    expect({ status: file.status, body: await file.json() }).toEqual({ status: 410, body: { error: expect.objectContaining({ code: 'reference_file_missing' }) } });
    const exported = await raw('/api/v1/characters/mio/export');
    expect(exported.status).toBe(409);
    expect(await exported.json()).toEqual({ error: expect.objectContaining({ code: 'bundle_incomplete', details: expect.objectContaining({ referenceId: row.id }) }) });
  });

  it('when the image is uploaded again, then 503 library_unavailable (EISDIR) with Retry-After, nothing written, and the same upload succeeds once the folder is moved', async () => {
    await folderAtPath();
    const refused = await upload(front, 'front');
    // Before: 500 (the upload read the folder to compare its bytes: EISDIR).
    expect({ status: refused.status, body: refused.body }).toEqual(refusedForTheFolder);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await partials()).toEqual([]);
    expect(await readdir(path.join(gateway.libraryDir, row.path))).toEqual(['inside']);

    await rm(path.join(gateway.libraryDir, row.path), { recursive: true });
    const stored = await upload(front, 'front');
    expect({ status: stored.status, id: stored.body.id, missing: stored.body.missing }).toEqual({ status: 200, id: row.id, missing: false });
    expect(sha256Hex(await readFile(path.join(gateway.libraryDir, row.path)))).toBe(sha256Hex(front));
  });

  it('when a bundle carrying the image is imported (merge), then 503 library_unavailable (EISDIR), nothing written, and the same import restores it once the folder is moved', async () => {
    await folderAtPath();
    const refused = await importZip(healthyZip);
    expect({ status: refused.status, body: refused.body }).toEqual(refusedForTheFolder);
    expect(await partials()).toEqual([]);

    await rm(path.join(gateway.libraryDir, row.path), { recursive: true });
    const restored = await importZip(healthyZip);
    expect({ status: restored.status, restored: restored.headers.get('x-bundle-restored-references') }).toEqual({ status: 200, restored: '1' });
    expect(sha256Hex(await readFile(path.join(gateway.libraryDir, row.path)))).toBe(sha256Hex(front));
  });
});
