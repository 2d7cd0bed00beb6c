import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { rawZip } from './raw-zip';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// A character whose reference files go missing from the library: what its export answers, and
// how importing a bundle that carries their bytes repairs them.
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
const front = png(20, 30, 11);
const side = png(24, 24, 12);
let healthyZip: Buffer;

function upload(bytes: Buffer, label: string) {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  form.set('kind', 'face');
  return api.post('/api/v1/characters/aki/references', form);
}

function importZip(zip: Buffer): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([zip], { type: 'application/zip' }), 'bundle.zip');
  return api.post('/api/v1/characters/import', form);
}

const exportAki = () => fetch(`${gateway.baseUrl}/api/v1/characters/aki/export`, { headers: gateway.authHeaders });
const rows = () => gateway.db.characterReference.findMany({ where: { character: { slug: 'aki' } }, orderBy: { label: 'asc' } });
const fileSha = async (relative: string) => sha256Hex(await readFile(path.join(gateway.libraryDir, relative)).catch(() => Buffer.alloc(0)));

beforeAll(async () => {
  gateway = await startTestGateway('bdl-lost-files');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Aki', slug: 'aki', definition: { displayName: 'Aki' } })).status).toBe(201);
  expect((await upload(front, 'front')).status).toBe(201);
  expect((await upload(side, 'side')).status).toBe(201);
  const exported = await exportAki();
  expect(exported.status).toBe(200);
  healthyZip = Buffer.from(await exported.arrayBuffer());
});
afterAll(() => gateway?.close());

describe('a character whose reference files are gone or altered in the library', () => {
  it('when it is exported, then 409 bundle_incomplete names every lost reference and each is marked missing', async () => {
    const [frontRow, sideRow] = await rows();
    await rm(path.join(gateway.libraryDir, frontRow.path));
    // Same size, other bytes: only reading the file tells it (a stat does not).
    const altered = await readFile(path.join(gateway.libraryDir, sideRow.path));
    altered[altered.length - 20] ^= 0xff;
    await writeFile(path.join(gateway.libraryDir, sideRow.path), altered);

    const response = await exportAki();
    expect(response.status).toBe(409);
    const body = (await response.json()) as { error: { code: string; message: string; details: { referenceId: string; references: { id: string }[] } } };
    expect(body.error.code).toBe('bundle_incomplete');
    // Before: only the first one was named ({ referenceId }), and neither row was marked.
    expect(body.error.details.references.map((r) => r.id).sort()).toEqual([frontRow.id, sideRow.id].sort());
    expect(body.error.details.references).toContainEqual(expect.objectContaining({ id: frontRow.id, label: 'front', sha256: frontRow.sha256, reason: 'gone' }));
    expect(body.error.details.references).toContainEqual(expect.objectContaining({ id: sideRow.id, label: 'side', sha256: sideRow.sha256, reason: 'altered' }));
    expect((await rows()).map((r) => r.missing)).toEqual([true, true]);
  });

  it('when a bundle carrying their bytes is refused (a file that is not what its manifest says), then nothing is written back and the marks stay', async () => {
    await gateway.db.characterReference.updateMany({ where: { character: { slug: 'aki' } }, data: { missing: true } });
    await rm(path.join(gateway.libraryDir, (await rows())[0].path), { force: true });
    const files = await unzip(healthyZip);
    const frontEntry = `references/${sha256Hex(front)}.png`;
    const tampered = rawZip([...files].map(([name, data]) => ({ name, data: name === frontEntry ? png(20, 30, 99) : data })));
    const response = await importZip(tampered);
    expect(response.status).toBe(400);
    expect(response.body.error).toEqual(expect.objectContaining({ code: 'invalid_bundle', message: expect.stringContaining(frontEntry) }));
    const [frontRow, sideRow] = await rows();
    expect([frontRow.missing, sideRow.missing]).toEqual([true, true]);
    expect(await fileSha(frontRow.path)).toBe(sha256Hex(Buffer.alloc(0)));
  });

  it('when a bundle carrying their bytes is imported (merge), then the files are written back, the marks cleared, and the export works again', async () => {
    // As the export above, a staging or the file route record them (set here too, so this case stands alone).
    await gateway.db.characterReference.updateMany({ where: { character: { slug: 'aki' } }, data: { missing: true } });
    const response = await importZip(healthyZip);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(expect.objectContaining({ created: false, versionsAdded: [], referencesAdded: 0 }));
    // Before: the import skipped both (their sha256 already on the character): files still lost, still marked.
    expect(response.body.character.references.map((r: { missing: boolean }) => r.missing)).toEqual([false, false]);
    const [frontRow, sideRow] = await rows();
    expect([frontRow.missing, sideRow.missing]).toEqual([false, false]);
    expect(await fileSha(frontRow.path)).toBe(sha256Hex(front));
    expect(await fileSha(sideRow.path)).toBe(sha256Hex(side));
    expect(response.headers.get('x-bundle-restored-references')).toBe('2');
    expect((await fetch(`${gateway.baseUrl}/api/v1/characters/aki/references/${frontRow.id}/file`, { headers: gateway.authHeaders })).status).toBe(200);

    // Round trip: the export again holds the very bytes, under the same sha256s.
    const again = await exportAki();
    expect(again.status).toBe(200);
    const [before, after] = await Promise.all([unzip(healthyZip), unzip(Buffer.from(await again.arrayBuffer()))]);
    expect(JSON.parse(after.get('manifest.json')!.toString())).toEqual(JSON.parse(before.get('manifest.json')!.toString()));
    for (const sha of [sha256Hex(front), sha256Hex(side)]) expect(sha256Hex(after.get(`references/${sha}.png`)!)).toBe(sha);

    // Nothing left to repair: the same bundle writes nothing.
    const idle = await importZip(healthyZip);
    expect(idle.status).toBe(200);
    expect(idle.headers.get('x-bundle-restored-references')).toBe('0');
  });

  it('when a reference is marked missing but its file is there as recorded, then the export reads it back, packs it and clears the mark', async () => {
    const [frontRow, sideRow] = await rows();
    // Both files as recorded (put back here too, so this case stands alone), the mark left behind on one.
    await writeFile(path.join(gateway.libraryDir, frontRow.path), front);
    await writeFile(path.join(gateway.libraryDir, sideRow.path), side);
    await gateway.db.characterReference.update({ where: { id: frontRow.id }, data: { missing: true } });
    expect((await exportAki()).status).toBe(200);
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: frontRow.id } })).missing).toBe(false);
  });
});

describe('a character one of whose references records a path outside the library (a legacy row)', () => {
  it('when a bundle carrying its bytes is imported (merge), then nothing is written outside the library, that row is left alone, and the import answers as usual', async () => {
    const [frontRow, sideRow] = await rows();
    await writeFile(path.join(gateway.libraryDir, frontRow.path), front);
    await writeFile(path.join(gateway.libraryDir, sideRow.path), side);
    const outside = `../${path.basename(gateway.libraryDir)}-outside/front.png`;
    await gateway.db.characterReference.update({ where: { id: frontRow.id }, data: { path: outside, missing: true } });
    try {
      const response = await importZip(healthyZip);
      // Before: 500 (the restore wrote at the row's path, which the library storage refuses).
      expect(response.status).toBe(200);
      expect(response.headers.get('x-bundle-restored-references')).toBe('0');
      expect(await readFile(path.join(gateway.libraryDir, outside)).catch(() => null)).toBeNull();
      expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: frontRow.id } })).missing).toBe(true);
    } finally {
      await gateway.db.characterReference.update({ where: { id: frontRow.id }, data: { path: frontRow.path, missing: false } });
      await rm(path.join(gateway.libraryDir, '..', `${path.basename(gateway.libraryDir)}-outside`), { recursive: true, force: true });
    }
  });
});
