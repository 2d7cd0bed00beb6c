import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { filedAsset } from './filed-asset';
import { kaiDefinition } from './fixtures';
import { png } from './images';
import { checkAgainstApiDocument } from './openapi-conformance';
import { rawRequest, type RawResponse } from './raw-request';
import { UNREADABLE_FILE } from './unreadable-file';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A library file the gateway may not read (EACCES/EPERM: its permissions, a security policy; EIO: the
// volume; ELOOP: a loop of links at its path) says nothing of the image: the file may be fine and the
// permission wrong. A download answers 503 library_unreadable (an operator fixes it; Retry-After),
// never a 500, and marks nothing missing. The tests run as root, which reads any mode; a write-only
// sysfs attribute (every bus has a `uevent` one, 4 KB by stat) is refused to root too, so a file is
// made a link to one.
let gateway: TestGateway;
const image = png(16, 16, 9);
const urls: Record<'asset' | 'reference', string> = { asset: '', reference: '' };
const files: Record<'asset' | 'reference', string> = { asset: '', reference: '' };
let referenceId = '';

const unreadable = UNREADABLE_FILE;

beforeAll(async () => {
  gateway = await startTestGateway('fixh-unreadable-file');
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  // An asset as the file-organizer files it: a row and its file in the library.
  ({ url: urls.asset, file: files.asset } = await filedAsset(gateway, 'kai', image));
  const form = new FormData();
  form.set('file', new Blob([image], { type: 'image/png' }), 'front.png');
  const reference = (await api.post('/api/v1/characters/kai/references', form)).body;
  urls.reference = reference.url;
  referenceId = reference.id;
  const row = await gateway.db.characterReference.findUniqueOrThrow({ where: { id: referenceId } });
  files.reference = path.join(gateway.libraryDir, row.path);
});
afterAll(() => gateway?.close());

/** A GET with the admin key; its answer must be one the API document describes. */
async function get(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const response = await rawRequest(gateway.baseUrl, 'GET', url, { ...gateway.authHeaders, ...headers });
  checkAgainstApiDocument({ method: 'GET', url, status: response.status, contentType: String(response.headers['content-type'] ?? ''), body: response.json, headers: response.headers });
  return response;
}

/** Puts `what` in place of the file (a link to it), then the image back. */
async function replaceFile(file: string, what: (file: string) => Promise<void>): Promise<void> {
  await rm(file, { force: true, recursive: true });
  await what(file);
}
const putImageBack = (file: string) => replaceFile(file, (f) => writeFile(f, image));

async function referenceMissing(): Promise<boolean> {
  return (await gateway.db.characterReference.findUniqueOrThrow({ where: { id: referenceId } })).missing;
}

describe.each(['asset', 'reference'] as const)('the %s file the gateway may not read', (which) => {
  afterEach(() => putImageBack(files[which]));

  it('when it answers EACCES on reading, then the download is 503 library_unreadable naming the errno, with Retry-After, and the image downloads again once it is readable', async () => {
    expect(unreadable).toBeDefined();
    if (which === 'reference') await gateway.db.characterReference.update({ where: { id: referenceId }, data: { bytes: 4096 } });
    await replaceFile(files[which], (f) => symlink(unreadable!, f));

    const refused = await get(urls[which]);
    // Before: 500 internal "unexpected error (id …)".
    expect({ status: refused.status, retryAfter: refused.headers['retry-after'], type: refused.headers['content-type'] }).toEqual({
      status: 503,
      retryAfter: '60',
      type: expect.stringContaining('application/json'),
    });
    expect(refused.json).toEqual({ error: { code: 'library_unreadable', message: expect.stringContaining('(EACCES)'), details: { reason: 'EACCES' } } });
    // A range asked for meets the same refusal.
    expect((await get(urls[which], { range: 'bytes=0-7' })).status).toBe(503);
    if (which === 'reference') {
      // Nothing says the image is gone: not marked missing, and the list says so too.
      expect(await referenceMissing()).toBe(false);
      const list = await gateway.client().get('/api/v1/characters/kai/references');
      expect(list.body.items.map((r: { missing: boolean }) => r.missing)).toEqual([false]);
      await gateway.db.characterReference.update({ where: { id: referenceId }, data: { bytes: image.length } });
    }

    await putImageBack(files[which]);
    const served = await fetch(`${gateway.baseUrl}${urls[which]}`, { headers: gateway.authHeaders });
    expect(served.status).toBe(200);
    expect(sha256Hex(Buffer.from(await served.arrayBuffer()))).toBe(sha256Hex(image));
  });

  it('when a loop of links stands at its path (ELOOP), then the download is 503 library_unreadable, not a 500, and nothing is marked missing', async () => {
    await replaceFile(files[which], (f) => symlink(path.basename(f), f));

    const refused = await get(urls[which]);
    expect({ status: refused.status, code: refused.json?.error?.code, reason: refused.json?.error?.details?.reason }).toEqual({
      status: 503,
      code: 'library_unreadable',
      reason: 'ELOOP',
    });
    if (which === 'reference') expect(await referenceMissing()).toBe(false);
  });
});

describe('the asset file route where no file stands', () => {
  afterEach(() => putImageBack(files.asset));

  it('when a folder stands at its path, then 410 asset_file_missing (was 500)', async () => {
    await replaceFile(files.asset, (f) => mkdir(f));
    const answer = await get(urls.asset);
    expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status: 410, code: 'asset_file_missing' });
  });

  it('when a file stands where its folder goes (ENOTDIR), then 410 asset_file_missing (was 404 not_found, as for an unknown asset)', async () => {
    const folder = path.dirname(files.asset);
    const moved = `${folder}.moved`;
    const { rename } = await import('node:fs/promises');
    await rename(folder, moved);
    await writeFile(folder, 'not a folder');
    try {
      const answer = await get(urls.asset);
      expect({ status: answer.status, code: answer.json?.error?.code }).toEqual({ status: 410, code: 'asset_file_missing' });
    } finally {
      await rm(folder);
      await rename(moved, folder);
    }
  });
});
