import { randomBytes } from 'node:crypto';
import { rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '@anime/comfyui-simulator';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
let bundle: Buffer;

beforeAll(async () => {
  gateway = await startTestGateway('library-blocked-folders');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai', slug: 'kai', definition: { displayName: 'Kai' } })).status).toBe(201);
  const exported = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/export`, { headers: gateway.authHeaders });
  expect(exported.status).toBe(200);
  bundle = Buffer.from(await exported.arrayBuffer());
});
afterAll(() => gateway?.close());

const importAs = (slug: string) => {
  const form = new FormData();
  form.set('file', new Blob([bundle], { type: 'application/zip' }), 'bundle.zip');
  return api.post(`/api/v1/characters/import?as=${slug}`, form);
};

const uploadReference = () => {
  const form = new FormData();
  form.set('file', new Blob([encodePng({ width: 8, height: 8, rgb: randomBytes(8 * 8 * 3) })]), 'image.png');
  form.set('label', 'front');
  return api.post('/api/v1/characters/kai/references', form);
};

const refusedAsNotDirectory = {
  status: 503,
  body: { error: { code: 'library_unavailable', message: expect.stringContaining('(ENOTDIR)'), details: { reason: 'ENOTDIR' } } },
};

/**
 * A folder the gateway makes in the library cannot be made: something else stands at its path. On a
 * read-only volume the same mkdir answers EROFS, which Node's recursive mkdir reported as ENOENT (a
 * 500); a blocked path is what a test can build without a mount or privileges, and was a 500 as well.
 */
describe('writes while a folder of the library cannot be made', () => {
  it('when a file stands where imports keep their workspace (.tmp), then a bundle import is 503 library_unavailable with Retry-After, and the same import succeeds once it is moved', async () => {
    const blocking = path.join(gateway.libraryDir, '.tmp');
    await writeFile(blocking, 'not a folder');
    const refused = await importAs('kai-copy');
    expect({ status: refused.status, body: refused.body }).toEqual(refusedAsNotDirectory);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await gateway.db.character.count({ where: { slug: 'kai-copy' } })).toBe(0);

    await rm(blocking);
    expect((await importAs('kai-copy')).status).toBe(201);
  });

  it('when a dangling link stands where references are kept, then a reference upload is 503 library_unavailable, and the same upload succeeds once it is removed', async () => {
    const blocking = path.join(gateway.libraryDir, 'references');
    await symlink(path.join(gateway.libraryDir, 'nowhere'), blocking);
    const refused = await uploadReference();
    expect({ status: refused.status, body: refused.body }).toEqual(refusedAsNotDirectory);
    expect(await gateway.db.characterReference.count()).toBe(0);

    await rm(blocking);
    expect((await uploadReference()).status).toBe(201);
  });

  it('when a loop of links stands where imports keep their workspace (.tmp), then a bundle import is 503 library_unavailable (ENOTDIR), not a 500 (ELOOP), and succeeds once it is removed', async () => {
    const blocking = path.join(gateway.libraryDir, '.tmp');
    await rm(blocking, { recursive: true, force: true });
    await symlink('.tmp', blocking);
    const refused = await importAs('kai-loop');
    expect({ status: refused.status, body: refused.body }).toEqual(refusedAsNotDirectory);
    expect(refused.body.error.message).toContain('a loop of links');
    expect(await gateway.db.character.count({ where: { slug: 'kai-loop' } })).toBe(0);

    await rm(blocking);
    expect((await importAs('kai-loop')).status).toBe(201);
  });
});
