import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '@anime/comfyui-simulator';
import { sha256Hex } from '@anime/media';
import { withFileSizeLimit } from '@anime/testing';
import { jsonClient } from './http-client';
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
