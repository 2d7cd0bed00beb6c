import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '@anime/media';
import { jsonClient } from './http-client';
import { jpeg as jpegImage, png, webp as webpImage } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

const LIMIT = 64 * 1024;
let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('references', { referenceMaxBytes: LIMIT });
  api = gateway.client();
  for (const slug of ['kai', 'mio']) {
    expect((await api.post('/api/v1/characters', { name: slug, slug, definition: { displayName: slug } })).status).toBe(201);
  }
});
afterAll(() => gateway?.close());

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body.error).toEqual(expect.objectContaining({ code, message: expect.any(String) }));
};

function form(bytes: Buffer | null, fields: Record<string, string>, filename = 'upload.png', type = 'image/png'): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  if (bytes) data.set('file', new Blob([bytes], { type }), filename);
  return data;
}

async function libraryFiles(): Promise<string[]> {
  const entries = await readdir(gateway.libraryDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(gateway.libraryDir, path.join(e.parentPath, e.name)));
}

describe('character references', () => {
  const face = png(32, 48, 7);
  let faceId: string;

  it('when a PNG is uploaded, then 201 returns the reference and the file lies under references/<slug>/<sha8>-<label>.png', async () => {
    const response = await api.post('/api/v1/characters/kai/references', form(face, { label: 'Front Face!', kind: 'face' }));
    expect(response.status).toBe(201);
    const sha256 = sha256Hex(face);
    expect(response.body).toEqual(
      expect.objectContaining({ id: expect.any(String), label: 'Front Face!', kind: 'face', sha256, width: 32, height: 48, mime: 'image/png', missing: false }),
    );
    expect(response.body.url).toBe(`/api/v1/characters/kai/references/${response.body.id}/file`);
    const expectedPath = `references/kai/${sha256.slice(0, 8)}-front-face.png`;
    expect(await libraryFiles()).toEqual([expectedPath]);
    expect(await readFile(path.join(gateway.libraryDir, expectedPath))).toEqual(face);
    faceId = response.body.id;
  });

  it('when JPEG and WebP are uploaded under misleading names and types, then the bytes decide', async () => {
    const jpeg = await api.post('/api/v1/characters/kai/references', form(await jpegImage(640, 480), { label: 'side', kind: 'body' }, 'side.png', 'image/png'));
    expect(jpeg.status).toBe(201);
    expect(jpeg.body).toEqual(expect.objectContaining({ mime: 'image/jpeg', width: 640, height: 480, kind: 'body' }));
    const webp = await api.post('/api/v1/characters/kai/references', form(await webpImage(300, 200), { label: 'style' }, 'style.gif', 'image/gif'));
    expect(webp.status).toBe(201);
    expect(webp.body).toEqual(expect.objectContaining({ mime: 'image/webp', width: 300, height: 200, kind: 'other' }));
    expect((await libraryFiles()).filter((f) => /\.(jpg|webp)$/.test(f))).toHaveLength(2);
  });

  it('when the same bytes are uploaded again, then the existing reference comes back and nothing is duplicated', async () => {
    const before = await libraryFiles();
    const again = await api.post('/api/v1/characters/kai/references', form(face, { label: 'another label', kind: 'style' }));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(faceId);
    expect(again.body.label).toBe('Front Face!');
    expect(await gateway.db.characterReference.count({ where: { character: { slug: 'kai' } } })).toBe(3);
    expect(await libraryFiles()).toEqual(before);
  });

  it('when the same new bytes are uploaded twice at once, then one reference results, never a 500', async () => {
    const bytes = png(6, 6, 42);
    const responses = await Promise.all([1, 2].map(() => api.post('/api/v1/characters/mio/references', form(bytes, { label: 'twin' }))));
    expect(responses.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(responses[0].body.id).toBe(responses[1].body.id);
    await api.delete(`/api/v1/characters/mio/references/${responses[0].body.id}`);
  });

  it('when another character gets the same bytes, then it has a reference of its own', async () => {
    const response = await api.post('/api/v1/characters/mio/references', form(face, { label: 'face' }));
    expect(response.status).toBe(201);
    expect(response.body.id).not.toBe(faceId);
    expect(await libraryFiles()).toContain(`references/mio/${sha256Hex(face).slice(0, 8)}-face.png`);
  });

  it('when the bytes are not PNG, JPEG or WebP, then 415 unsupported_media_type and nothing is written', async () => {
    const before = await libraryFiles();
    const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.from([1, 0, 1, 0, 0, 0, 0]), Buffer.alloc(20)]);
    for (const bytes of [gif, Buffer.from('not an image at all'), Buffer.alloc(0)]) {
      expectError(await api.post('/api/v1/characters/kai/references', form(bytes, { label: 'x' }, 'x.png', 'image/png')), 415, 'unsupported_media_type');
    }
    expect(await libraryFiles()).toEqual(before);
  });

  it('when the body is not multipart, then 415 unsupported_media_type', async () => {
    expectError(await api.post('/api/v1/characters/kai/references', { label: 'x' }), 415, 'unsupported_media_type');
  });

  it('when the file is over REFERENCE_MAX_BYTES, then 413 payload_too_large and nothing is written', async () => {
    const before = await libraryFiles();
    const rows = await gateway.db.characterReference.count();
    const big = Buffer.concat([png(8, 8, 3), Buffer.alloc(LIMIT)]);
    expectError(await api.post('/api/v1/characters/kai/references', form(big, { label: 'big' })), 413, 'payload_too_large');
    expect(await libraryFiles()).toEqual(before);
    expect(await gateway.db.characterReference.count()).toBe(rows);
    const exactly = Buffer.concat([png(8, 8, 4), Buffer.alloc(LIMIT - png(8, 8, 4).length)]);
    expect((await api.post('/api/v1/characters/kai/references', form(exactly, { label: 'at-limit' }))).status).toBe(201);
  });

  it('when the file, label or kind is wrong, then 400 validation_failed names them', async () => {
    const noFile = await api.post('/api/v1/characters/kai/references', form(null, { label: 'x', kind: 'hat' }));
    expectError(noFile, 400, 'validation_failed');
    expect(noFile.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['file', 'kind']);
    const badLabel = await api.post('/api/v1/characters/kai/references', form(png(2, 2, 9), { label: 'a\u0000b' }));
    expectError(badLabel, 400, 'validation_failed');
    expect(badLabel.body.error.details[0].path).toBe('label');
  });

  it('when the form is broken or holds two files, then 400 and nothing is written', async () => {
    const before = await libraryFiles();
    const truncated = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/references`, {
      method: 'POST',
      headers: { ...gateway.authHeaders, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc',
    });
    expectError({ status: truncated.status, body: await truncated.json() }, 400, 'invalid_multipart');
    const two = form(png(2, 2, 10), { label: 'two' });
    two.append('file', new Blob([png(2, 2, 11)]), 'second.png');
    expectError(await api.post('/api/v1/characters/kai/references', two), 400, 'validation_failed');
    expect(await libraryFiles()).toEqual(before);
  });

  it('when the character is unknown, then 404 character_not_found', async () => {
    expectError(await api.post('/api/v1/characters/nobody/references', form(face, { label: 'x' })), 404, 'character_not_found');
  });

  it('when listing, then the attached references come with the reference shape and count in the summary', async () => {
    const response = await api.get('/api/v1/characters/kai/references');
    expect(response.status).toBe(200);
    expect(response.body.items.map((r: { label: string }) => r.label)).toEqual(['Front Face!', 'side', 'style', 'at-limit']);
    for (const item of response.body.items) {
      expect(item).toEqual(
        expect.objectContaining({ id: expect.any(String), label: expect.any(String), kind: expect.any(String), sha256: expect.any(String), url: expect.any(String), missing: false }),
      );
    }
    const summary = (await api.get('/api/v1/characters?q=kai')).body.items[0];
    expect(summary.referenceCount).toBe(4);
  });

  it('when the file is fetched, then the exact bytes come with the sniffed content type', async () => {
    const response = await fetch(`${gateway.baseUrl}/api/v1/characters/kai/references/${faceId}/file`, { headers: gateway.authHeaders });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(face);
    expectError(await api.get(`/api/v1/characters/mio/references/${faceId}/file`), 404, 'reference_not_found');
    expectError(await api.get('/api/v1/characters/kai/references/not-a-uuid/file'), 404, 'reference_not_found');
  });

  it('when a reference is deleted, then it is detached: hidden from the character, the row and the file kept', async () => {
    expect((await api.delete(`/api/v1/characters/kai/references/${faceId}`)).status).toBe(204);
    const row = await gateway.db.characterReference.findUniqueOrThrow({ where: { id: faceId } });
    expect(row.detachedAt).toBeInstanceOf(Date);
    expect(await readFile(path.join(gateway.libraryDir, row.path))).toEqual(face);
    const detail = await api.get('/api/v1/characters/kai');
    expect(detail.body.references.map((r: { id: string }) => r.id)).not.toContain(faceId);
    expect((await api.get('/api/v1/characters/kai/references')).body.items).toHaveLength(3);
    expectError(await api.get(`/api/v1/characters/kai/references/${faceId}/file`), 404, 'reference_not_found');
    expectError(await api.delete(`/api/v1/characters/kai/references/${faceId}`), 404, 'reference_not_found');
  });

  it('when detached bytes are uploaded again, then the same reference is attached again under the new label', async () => {
    const response = await api.post('/api/v1/characters/kai/references', form(face, { label: 'face again', kind: 'face' }));
    expect(response.status).toBe(201);
    expect(response.body).toEqual(expect.objectContaining({ id: faceId, label: 'face again' }));
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: faceId } })).detachedAt).toBeNull();
  });

  it('when the stored file has gone, then fetching it is 410 reference_file_missing, not a 500', async () => {
    const { rm } = await import('node:fs/promises');
    const mio = await gateway.db.characterReference.findFirstOrThrow({ where: { character: { slug: 'mio' }, detachedAt: null } });
    await rm(path.join(gateway.libraryDir, mio.path));
    expectError(await api.get(`/api/v1/characters/mio/references/${mio.id}/file`), 410, 'reference_file_missing');
  });

  it('when a reference of an archived character is deleted, then 409 character_archived (a status the OpenAPI document declares) and it stays attached', async () => {
    expect((await api.post('/api/v1/characters', { name: 'ren', slug: 'ren', definition: { displayName: 'ren' } })).status).toBe(201);
    const uploaded = await api.post('/api/v1/characters/ren/references', form(png(8, 8, 21), { label: 'ren' }));
    expect(uploaded.status).toBe(201);
    expect((await api.delete('/api/v1/characters/ren')).status).toBe(200);
    expectError(await api.delete(`/api/v1/characters/ren/references/${uploaded.body.id}`), 409, 'character_archived');
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: uploaded.body.id } })).detachedAt).toBeNull();
  });
});

describe('a reference whose file is lost from the library', () => {
  const bytes = png(24, 24, 31);
  let id: string;
  let file: string;
  let fileUrl: string;
  const rowMissing = async () => (await gateway.db.characterReference.findUniqueOrThrow({ where: { id } })).missing;
  const seenMissing = async () => ({
    detail: (await api.get('/api/v1/characters/aya')).body.references.map((r: { id: string; missing: boolean }) => [r.id, r.missing]),
    list: (await api.get('/api/v1/characters/aya/references')).body.items.map((r: { id: string; missing: boolean }) => [r.id, r.missing]),
  });
  const fetchFile = () => fetch(`${gateway.baseUrl}${fileUrl}`, { headers: gateway.authHeaders });

  beforeAll(async () => {
    expect((await api.post('/api/v1/characters', { name: 'aya', slug: 'aya', definition: { displayName: 'aya' } })).status).toBe(201);
    const uploaded = await api.post('/api/v1/characters/aya/references', form(bytes, { label: 'aya', kind: 'face' }));
    expect(uploaded.status).toBe(201);
    id = uploaded.body.id;
    fileUrl = uploaded.body.url;
    file = path.join(gateway.libraryDir, (await gateway.db.characterReference.findUniqueOrThrow({ where: { id } })).path);
  });

  it('when the file is deleted and then fetched, then 410 reference_file_missing and the reference is recorded missing', async () => {
    await rm(file);
    expectError(await api.get(fileUrl), 410, 'reference_file_missing');
    expect(await rowMissing()).toBe(true);
    expect(await seenMissing()).toEqual({ detail: [[id, true]], list: [[id, true]] });
  });

  it('when the same bytes are uploaded again, then the file is back, missing is false and the file is served', async () => {
    const again = await api.post('/api/v1/characters/aya/references', form(bytes, { label: 'aya again' }));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(expect.objectContaining({ id, missing: false }));
    expect(await readFile(file)).toEqual(bytes);
    expect(await rowMissing()).toBe(false);
    expect(await seenMissing()).toEqual({ detail: [[id, false]], list: [[id, false]] });
    const served = await fetchFile();
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
  });

  it('when the file is deleted, then the detail says missing: true before anything fetched it or a generation failed on it', async () => {
    await rm(file);
    expect(await seenMissing()).toEqual({ detail: [[id, true]], list: [[id, true]] });
    expect(await rowMissing()).toBe(true);
    expect((await api.post('/api/v1/characters/aya/references', form(bytes, { label: 'aya' }))).body).toEqual(expect.objectContaining({ id, missing: false }));
  });

  it('when the file is altered behind the library\'s back, then it is not served under the old sha256 (410) and the detail says missing', async () => {
    await appendFile(file, 'one more byte');
    expectError(await api.get(fileUrl), 410, 'reference_file_missing');
    expect(await seenMissing()).toEqual({ detail: [[id, true]], list: [[id, true]] });
    // Uploading the bytes again writes them back over the altered file.
    expect((await api.post('/api/v1/characters/aya/references', form(bytes, { label: 'aya' }))).body).toEqual(expect.objectContaining({ id, missing: false }));
    expect(await readFile(file)).toEqual(bytes);
  });
});

describe('reference file names', () => {
  it('when a file named in non-ASCII letters is uploaded without a label (as Node and browsers send it: raw UTF-8), then its name is the label and the download names it in UTF-8', async () => {
    expect((await api.post('/api/v1/characters', { name: 'hana', slug: 'hana', definition: { displayName: 'hana' } })).status).toBe(201);
    const response = await api.post('/api/v1/characters/hana/references', form(png(5, 5, 77), {}, '日本.png'));
    expect(response.status).toBe(201);
    expect(response.body.label).toBe('日本');
    const file = await fetch(`${gateway.baseUrl}${response.body.url}`, { headers: gateway.authHeaders });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="reference-${response.body.id}.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`);
  });

  it('when a long label has an emoji where the download name is cut, then the file still downloads, named with its extension', async () => {
    const label = `${'x'.repeat(115)}${'😀'.repeat(5)}`;
    const response = await api.post('/api/v1/characters/hana/references', form(png(6, 5, 78), { label }));
    expect(response.status).toBe(201);
    // Once a 400 invalid_path: the cut left half a surrogate pair, which the header's encoding refused.
    const file = await fetch(`${gateway.baseUrl}${response.body.url}`, { headers: gateway.authHeaders });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${'x'.repeat(115)}.png"`);
  });
});

describe('reference upload form fields', () => {
  const boundary = 'field-bytes-boundary';
  const upload = (label: Buffer, image: Buffer, labelHeaders = '') =>
    fetch(`${gateway.baseUrl}/api/v1/characters/mio/references`, {
      method: 'POST',
      headers: { ...gateway.authHeaders, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="label"\r\n${labelHeaders}\r\n`),
        label,
        Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.png"\r\nContent-Type: image/png\r\n\r\n`),
        image,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });

  it('when a text field is not valid UTF-8, then 400 validation_failed names it and nothing is stored; UTF-8 arrives whole', async () => {
    const before = await libraryFiles();
    for (const bad of [Buffer.from([0x66, 0xff, 0xfe, 0x6f]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80])]) {
      const refused = await upload(bad, png(3, 3, 42));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: unknown }).error).toEqual({ code: 'validation_failed', message: 'field "label" is not valid UTF-8', details: [{ path: 'label', message: 'is not valid UTF-8' }] });
    }
    expect(await libraryFiles()).toEqual(before);
    const accepted = await upload(Buffer.from('日本 ✓ café'), png(3, 3, 43));
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { label: string }).label).toBe('日本 ✓ café');
  });

  it('when a text field names its charset (utf-8, as curl -F "label=…;type=text/plain;charset=utf-8" sends it), then its accented text arrives whole, not refused', async () => {
    const accepted = await upload(Buffer.from('café crème'), png(3, 3, 44), 'Content-Type: text/plain; charset=utf-8\r\n');
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { label: string }).label).toBe('café crème');
  });

  it('when a text field names a charset there is no decoder for, then 400 validation_failed names it, and the gateway goes on answering', async () => {
    const before = await libraryFiles();
    const refused = await upload(Buffer.from('caf\xe9', 'latin1'), png(3, 3, 45), 'Content-Type: text/plain; charset=x-no-such-charset\r\n');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: unknown }).error).toEqual({ code: 'validation_failed', message: 'field "label" names a charset that cannot be read', details: [{ path: 'label', message: 'names a charset that cannot be read' }] });
    expect(await libraryFiles()).toEqual(before);
    const accepted = await upload(Buffer.from('café'), png(3, 3, 46));
    expect(accepted.status).toBe(201);
  });
});
