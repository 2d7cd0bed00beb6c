import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '@anime/comfyui-simulator';
import { sha256Hex } from '@anime/media';
import { withFileSizeLimit } from '@anime/testing';
import { jsonClient } from './http-client';
import { UNREADABLE_FILE } from './unreadable-file';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('library-refused-uploads');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: { displayName: 'Kai' } })).status).toBe(201);
});
afterAll(() => gateway?.close());

/** A 64×64 PNG of noise: some 12 KB that no compression brings under the limit below. */
function noisePng(): Buffer {
  return encodePng({ width: 64, height: 64, rgb: randomBytes(64 * 64 * 3) });
}

const upload = (bytes: Buffer) => {
  const form = new FormData();
  form.set('file', new Blob([bytes]), 'image.png');
  form.set('label', 'front');
  return api.post('/api/v1/characters/kai/references', form);
};

async function libraryFiles(): Promise<string[]> {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name)));
}

/**
 * The library volume refuses writes (full, read-only): here the kernel refuses them, EFBIG, through
 * this process's file-size limit lowered below the image's size, which needs no mount or privileges.
 */
describe('uploads while the library refuses writes', () => {
  it('when a reference image is uploaded, then the answer is 503 library_unavailable naming the reason, with Retry-After, nothing is stored, and the same upload succeeds once the library takes writes', async () => {
    const image = noisePng();
    expect(image.length).toBeGreaterThan(4096);
    const before = await libraryFiles();
    const refused = await withFileSizeLimit(2048, () => upload(image));
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 503,
      body: { error: { code: 'library_unavailable', message: expect.stringContaining('(EFBIG)'), details: { reason: 'EFBIG' } } },
    });
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await libraryFiles()).toEqual(before);
    expect(await gateway.db.characterReference.count()).toBe(0);

    const stored = await upload(image);
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ sha256: sha256Hex(image), missing: false });
  });
});

/**
 * A file the process may not READ (EACCES on open for reading) is no refusal to store: the library
 * still takes writes, and "cannot store files now" would send the operator to free a volume that is
 * fine. Nor is it a bug (a 500) or a lost file (the image may be intact, the permission wrong): it is
 * 503 library_unreadable. The test runs as root, which reads any mode; a write-only sysfs attribute
 * (every bus has a `uevent` one, 4 KB by stat) is refused to root too, so the reference's file is made
 * a link to one. (services/gateway/test/library-file-unreadable.test.ts: the asset route, ELOOP.)
 */
describe('downloads of a file the process may not read', () => {
  it('when a reference file answers EACCES on reading, then the download is 503 library_unreadable with Retry-After, not 503 library_unavailable nor a 500, and the reference is not marked missing', async () => {
    const { rm, symlink } = await import('node:fs/promises');
    const unreadable = UNREADABLE_FILE;
    expect(unreadable).toBeDefined();
    const stored = await upload(noisePng());
    expect(stored.status).toBe(201);
    const id = (stored.body as { id: string }).id;
    const row = await gateway.db.characterReference.findUniqueOrThrow({ where: { id } });
    // The size check (a file changed behind the library's back) sees the link's target: 4096 bytes.
    await gateway.db.characterReference.update({ where: { id }, data: { bytes: 4096 } });
    const file = path.join(gateway.libraryDir, row.path);
    await rm(file);
    await symlink(unreadable!, file);

    const answer = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/references/${id}/file`, { headers: gateway.authHeaders });
    // Before: 500 internal "unexpected error (id …)".
    expect({ status: answer.status, retryAfter: answer.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '60' });
    expect(await answer.json()).toEqual({
      error: { code: 'library_unreadable', message: expect.stringContaining('may not read the file'), details: { reason: 'EACCES' } },
    });
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id } })).missing).toBe(false);
  });
});
