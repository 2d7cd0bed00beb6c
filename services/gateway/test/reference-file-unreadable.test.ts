import { lstat, readFile, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { jsonClient, type JsonResponse } from './http-client';
import { png } from './images';
import { UNREADABLE_FILE } from './unreadable-file';
import { startTestGateway, type TestGateway } from './start-test-gateway';

// A reference file this process may not READ (EACCES on open) while the library still takes writes:
// a read refused within a POST is no library outage (503 library_unavailable says "cannot store
// files now" and sends an operator to a volume that is fine). The file is taken as not holding the
// image, as a missing one is: an upload of the image writes it back over it.
//
// The tests run as root, which reads any mode; a write-only sysfs attribute (every bus has a
// `uevent` one) is refused to root too, so the reference's file is made a link to one.
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;
const front = png(20, 30, 51);

const unreadable = UNREADABLE_FILE;

function upload(bytes: Buffer, label: string): Promise<JsonResponse> {
  const form = new FormData();
  form.set('file', new Blob([bytes]), `${label}.png`);
  form.set('label', label);
  return api.post('/api/v1/characters/rin/references', form);
}

beforeAll(async () => {
  gateway = await startTestGateway('fixc-ref-unreadable');
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Rin', slug: 'rin', definition: { displayName: 'Rin' } })).status).toBe(201);
  expect((await upload(front, 'front')).status).toBe(201);
});
afterAll(() => gateway?.close());

describe('a reference file the process may not read', () => {
  it('when the image is uploaded again (a POST that reads the file to compare it), then the file is written back over it: 200, its bytes restored, no 503 library_unavailable', async () => {
    expect(unreadable).toBeDefined();
    const row = await gateway.db.characterReference.findFirstOrThrow({ where: { character: { slug: 'rin' } } });
    const file = path.join(gateway.libraryDir, row.path);
    await rm(file);
    await symlink(unreadable!, file);
    await gateway.db.characterReference.update({ where: { id: row.id }, data: { missing: true } });

    const again = await upload(front, 'front');
    // Before: 503 library_unavailable "the library folder may not be written by this process (EACCES)".
    expect({ status: again.status, retryAfter: again.headers.get('retry-after'), id: again.body.id, missing: again.body.missing }).toEqual({
      status: 200,
      retryAfter: null,
      id: row.id,
      missing: false,
    });
    // The link was replaced, not followed: the sysfs attribute is untouched and the file holds the image.
    expect((await lstat(file)).isSymbolicLink()).toBe(false);
    expect(sha256Hex(await readFile(file))).toBe(sha256Hex(front));
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: row.id } })).missing).toBe(false);
  });
});
