import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { waitFor } from '@anime/testing';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { deflatedZeros, rawZip, type DeflatedData, type RawZipEntry } from './raw-zip';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { unzip } from './unzip';

// The gateway's own defaults throughout (BUNDLE_MAX_UNCOMPRESSED_BYTES 500 MiB, REFERENCE_MAX_BYTES
// 20 MiB, IMPORT_CONCURRENCY 2): the finding was a 500 KB bundle inflating 490 MiB under them.
const MiB = 1024 * 1024;
const BOMB_BYTES = 490 * MiB;

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
let rin: Map<string, Buffer>;
let bomb: DeflatedData;

beforeAll(async () => {
  gateway = await startTestGateway('bundle-bombs');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Rin', slug: 'rin', definition: { displayName: 'Rin' } })).status).toBe(201);
  const form = new FormData();
  form.set('file', new Blob([png(16, 16, 5)]), 'rin.png');
  expect((await api.post('/api/v1/characters/rin/references', form)).status).toBe(201);
  rin = await unzip(Buffer.from(await (await fetch(`${gateway.baseUrl}/api/v1/characters/rin/export`, { headers: gateway.authHeaders })).arrayBuffer()));
  bomb = await deflatedZeros(BOMB_BYTES);
}, 60_000);
afterAll(() => gateway?.close());

/** The files with a manifest that lists them truly, then the extra entries as given. */
function bundle(files: Map<string, Buffer>, listed: { path: string; sha256: string; bytes: number }[], extra: RawZipEntry[]): Buffer {
  const others = [...files].filter(([name]) => name !== 'manifest.json');
  const manifest = {
    format: 'anime-character-bundle',
    formatVersion: 1,
    files: [...others.map(([p, data]) => ({ path: p, sha256: sha256Hex(data), bytes: data.length })), ...listed],
  };
  return rawZip([{ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) }, ...others.map(([name, data]) => ({ name, data })), ...extra]);
}

/** character.json naming one more reference, as the bundle would if the bomb were an image of it. */
function withExtraReference(sha256: string, bytes: number): Map<string, Buffer> {
  const character = JSON.parse(rin.get('character.json')!.toString());
  character.references.push({ ...character.references[0], sha256, bytes, file: `references/${sha256}.png` });
  return new Map([...rin, ['character.json', Buffer.from(JSON.stringify(character))]]);
}

const FAKE_SHA = 'a'.repeat(64);
const bombs: Record<string, () => Buffer> = {
  // Declares its true 490 MiB, which fits BUNDLE_MAX_UNCOMPRESSED_BYTES; the manifest does not list it.
  'an unlisted entry': () => bundle(rin, [], [{ name: 'notes.bin', deflated: bomb }]),
  // Listed, and declared at its true size: over the 20 MiB an image may hold.
  'a listed entry declaring 490 MiB': () => bundle(withExtraReference(FAKE_SHA, BOMB_BYTES), [{ path: `references/${FAKE_SHA}.png`, sha256: FAKE_SHA, bytes: BOMB_BYTES }], [
    { name: `references/${FAKE_SHA}.png`, deflated: bomb },
  ]),
  // Listed with a header claiming 1000 bytes that inflate to 490 MiB.
  'a listed entry whose header lies about its size': () => bundle(withExtraReference(FAKE_SHA, 1000), [{ path: `references/${FAKE_SHA}.png`, sha256: FAKE_SHA, bytes: 1000 }], [
    { name: `references/${FAKE_SHA}.png`, deflated: bomb, declaredSize: 1000 },
  ]),
};

function formOf(zip: Buffer): FormData {
  const form = new FormData();
  form.set('file', new Blob([zip], { type: 'application/zip' }), 'bundle.zip');
  return form;
}

const importZip = (zip: Buffer): Promise<JsonResponse> => api.post('/api/v1/characters/import', formOf(zip));

async function libraryFiles(): Promise<string[]> {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name))).sort();
}

async function workspaceFiles(): Promise<string[]> {
  const entries = await readdir(path.join(gateway.libraryDir, '.tmp'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('hostile bundles cost bounded memory', () => {
  it.each(Object.keys(bombs))('when a bundle holds %s, then 400 invalid_bundle names it', async (what) => {
    const zip = bombs[what]();
    expect(zip.length).toBeLessThan(1 * MiB);
    const response = await importZip(zip);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_bundle');
    expect(response.body.error.message).toMatch(/notes\.bin|references\/a{64}\.png/);
    expect(await workspaceFiles()).toEqual([]);
  });

  it('when the three bombs arrive at once, three times over, then each is refused and the gateway RSS grows by less than 100 MiB', async () => {
    const zips = Object.values(bombs).map((build) => build());
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      for (let round = 0; round < 3; round += 1) {
        const responses = await Promise.all(zips.map(importZip));
        // IMPORT_CONCURRENCY is 2: the third may find both slots taken.
        for (const response of responses) expect([400, 429]).toContain(response.status);
        expect(responses.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(2);
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const grownMiB = (peak - before) / MiB;
    console.log(`bundle bombs: RSS ${Math.round(before / MiB)} MiB before, peak ${Math.round(peak / MiB)} MiB (+${grownMiB.toFixed(1)} MiB)`);
    expect(grownMiB).toBeLessThan(100);
    expect(await workspaceFiles()).toEqual([]);
  });
});

describe('bundle content within the version limits', () => {
  it('when a version keeps a legacy key holding 2 MiB, then 400 invalid_bundle names the limit before any image is stored', async () => {
    const character = JSON.parse(rin.get('character.json')!.toString());
    character.versions[0].definition.legacyNotes = 'x'.repeat(2 * MiB);
    const files = new Map([...rin, ['character.json', Buffer.from(JSON.stringify(character))]]);
    const before = { references: await gateway.db.characterReference.count(), files: await libraryFiles() };
    const response = await api.post('/api/v1/characters/import?as=rin-large', formOf(bundle(files, [], [])));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_bundle');
    expect(response.body.error.message).toContain('more than the limit of 1048576');
    expect({ references: await gateway.db.characterReference.count(), files: await libraryFiles() }).toEqual(before);
  });
});

describe('IMPORT_CONCURRENCY', () => {
  /** An import whose body never finishes: it holds a slot until the client goes away. */
  function stalledImport(): { abort(): void } {
    const boundary = 'stall';
    const req = request(`${gateway.baseUrl}/api/v1/characters/import`, {
      method: 'POST',
      headers: { ...gateway.authHeaders, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(10 * MiB) },
    });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="b.zip"\r\ncontent-type: application/zip\r\n\r\nPK`);
    return { abort: () => req.destroy() };
  }

  const workspaces = () => readdir(path.join(gateway.libraryDir, '.tmp', 'imports')).catch(() => []);

  it('when two imports are running, then a third is 429 rate_limited with Retry-After; when they end, their slots and workspaces are freed', async () => {
    const stalled = [stalledImport(), stalledImport()];
    // Each import makes its workspace once it holds a slot.
    await waitFor(async () => (await workspaces()).length === 2, 'both stalled imports to hold a slot');
    const notAZip = Buffer.from('not a zip');
    const refused = await importZip(notAZip);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toEqual(expect.objectContaining({ code: 'rate_limited', message: expect.stringContaining('at most 2 bundle imports') }));
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await workspaces()).toHaveLength(2);

    for (const s of stalled) s.abort();
    const after = await waitFor(async () => {
      const response = await importZip(notAZip);
      return response.status !== 429 ? response : null;
    }, 'the slots to be freed');
    expect(after.body.error.code).toBe('invalid_bundle');
    await waitFor(async () => (await workspaces()).length === 0, 'the workspaces to be removed');
  });
});
