import { jsonClient } from './http-client';
import { png } from './images';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

beforeAll(async () => {
  gateway = await startTestGateway('ref-marked-missing', { referenceMaxBytes: 64 * 1024 });
  api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'nao', slug: 'nao', definition: { displayName: 'nao' } })).status).toBe(201);
});
afterAll(() => gateway?.close());

describe('a reference marked missing whose file is there again, as recorded', () => {
  it('when its file is fetched, then it is served and the mark cleared (a mark set while the library was away does not 410 it for good)', async () => {
    const bytes = png(24, 24, 5);
    const uploaded = await api.post('/api/v1/characters/nao/references', (() => {
      const data = new FormData();
      data.set('label', 'nao');
      data.set('file', new Blob([bytes], { type: 'image/png' }), 'nao.png');
      return data;
    })());
    expect(uploaded.status).toBe(201);
    // As a character detail does while the library volume is not mounted (every file gone), or a look racing a re-upload.
    await gateway.db.characterReference.update({ where: { id: uploaded.body.id }, data: { missing: true } });

    const served = await fetch(`${gateway.baseUrl}${uploaded.body.url}`, { headers: gateway.authHeaders });
    // Before: 410 reference_file_missing on the mark alone, the file never looked at, until the image was uploaded again.
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
    expect((await gateway.db.characterReference.findUniqueOrThrow({ where: { id: uploaded.body.id } })).missing).toBe(false);
    expect((await api.get('/api/v1/characters/nao')).body.references).toEqual([expect.objectContaining({ id: uploaded.body.id, missing: false })]);
  });
});
