import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { JobLifecycle } from '@anime/pipeline';
import { kaiDefinition } from './fixtures';
import { jsonClient, type JsonResponse } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

let gateway: TestGateway;
let admin: ReturnType<typeof jsonClient>;
/** Limited to project "alpha". */
let alpha: ReturnType<typeof jsonClient>;
const ids: Record<'alpha' | 'beta', { generation: string; asset: string }> = {} as never;

async function generationWithAsset(project: 'alpha' | 'beta') {
  const created = await admin.post('/api/v1/generations', { character: 'kai', prompt: `in ${project}`, project });
  expect(created.status).toBe(202);
  const job = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: created.body.id } });
  const file = `${project}/${job.id}.png`;
  await mkdir(path.join(gateway.libraryDir, project), { recursive: true });
  await writeFile(path.join(gateway.libraryDir, file), 'png bytes');
  const asset = await gateway.db.asset.create({
    data: {
      jobId: job.id,
      characterVersionId: job.characterVersionId!,
      sourceKey: 'out-1',
      path: file,
      sha256: 'a'.repeat(64),
      bytes: 9,
      width: 8,
      height: 8,
      mime: 'image/png',
      project,
      episode: 'ep00',
      scene: 'sc000',
      metadata: {},
    },
  });
  ids[project] = { generation: job.id, asset: asset.id };
}

function expectNotFound(response: JsonResponse) {
  expect(response.status).toBe(404);
  expect(response.body.error.code).toBe('not_found');
}

beforeAll(async () => {
  gateway = await startTestGateway('project-limits');
  admin = gateway.client();
  expect((await admin.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  await generationWithAsset('alpha');
  await generationWithAsset('beta');
  alpha = gateway.client(await gateway.mintKey({ name: 'alpha-only', scopes: ['read', 'generate'], projects: ['alpha'] }));
});
afterAll(() => gateway?.close());

describe('a key limited to projects', () => {
  it('when it lists generations, then it sees only its projects, also when it asks for another project by name', async () => {
    const all = await alpha.get('/api/v1/generations');
    expect(all.status).toBe(200);
    expect(all.body.items.map((g: { id: string }) => g.id)).toEqual([ids.alpha.generation]);
    expect((await alpha.get('/api/v1/generations?project=beta')).body.items).toEqual([]);
    expect((await alpha.get('/api/v1/generations?project=alpha')).body.items).toHaveLength(1);
    expect((await admin.get('/api/v1/generations')).body.items).toHaveLength(2);
  });

  it('when it reads, cancels or retries a generation of another project, then it is 404 not_found (the same as an unknown id), and nothing changes', async () => {
    expect((await alpha.get(`/api/v1/generations/${ids.alpha.generation}`)).status).toBe(200);
    const unknown = await alpha.get(`/api/v1/generations/${randomUUID()}`);
    const outside = await alpha.get(`/api/v1/generations/${ids.beta.generation}`);
    expectNotFound(outside);
    expect(outside.body.error.message).toBe(unknown.body.error.message.replace(/[0-9a-f-]{36}/, ids.beta.generation));
    expectNotFound(await alpha.post(`/api/v1/generations/${ids.beta.generation}/cancel`));
    await new JobLifecycle(gateway.db).fail(ids.beta.generation, { code: 'timeout', message: 'took too long' });
    expectNotFound(await alpha.post(`/api/v1/generations/${ids.beta.generation}/retry`));
    expect((await gateway.db.generationJob.findUniqueOrThrow({ where: { id: ids.beta.generation } })).status).toBe('failed');
    // The same retry by a key that reaches the project is accepted: the 404 was the project limit.
    expect((await admin.post(`/api/v1/generations/${ids.beta.generation}/retry`)).status).toBe(202);
  });

  it('when it reads an asset or its file of another project, then it is 404 not_found', async () => {
    expect((await alpha.get(`/api/v1/assets/${ids.alpha.asset}`)).status).toBe(200);
    const file = await fetch(`${gateway.baseUrl}/api/v1/assets/${ids.alpha.asset}/file`, { headers: { authorization: (await alphaHeader()) } });
    expect(file.status).toBe(200);
    expectNotFound(await alpha.get(`/api/v1/assets/${ids.beta.asset}`));
    const outside = await fetch(`${gateway.baseUrl}/api/v1/assets/${ids.beta.asset}/file`, { headers: { authorization: await alphaHeader() } });
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('when it creates a generation in another project, or in the default project it is not given, then it is 403 insufficient_scope naming the project', async () => {
    const other = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'sneaking in', project: 'beta' });
    expect(other.status).toBe(403);
    expect(other.body.error).toMatchObject({ code: 'insufficient_scope', details: { scope: 'project', project: 'beta' } });
    const byDefault = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'no project' });
    expect(byDefault.status).toBe(403);
    expect(byDefault.body.error.details).toEqual({ scope: 'project', project: 'default' });
    const own = await alpha.post('/api/v1/generations', { character: 'kai', prompt: 'at home', project: 'alpha' });
    expect(own.status).toBe(202);
    const row = await gateway.db.generationJob.findUniqueOrThrow({ where: { id: own.body.id }, include: { apiKey: { select: { name: true } } } });
    expect(row.apiKey?.name).toBe('alpha-only');
    expect(await gateway.db.generationJob.count({ where: { project: { in: ['beta', 'default'] } } })).toBe(1);
  });

  it("when it pages generations or assets from a cursor naming another project's row, then the page is the same as for an unknown cursor (no sign the row exists)", async () => {
    for (const [list, outside] of [
      ['/api/v1/generations', ids.beta.generation],
      ['/api/v1/assets', ids.beta.asset],
    ] as const) {
      const unknown = await alpha.get(`${list}?cursor=${randomUUID()}`);
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual({ items: [], nextCursor: null });
      // beta's rows were made after alpha's: paging from one of them would list alpha's older rows.
      const fromOutside = await alpha.get(`${list}?cursor=${outside}`);
      expect({ list, status: fromOutside.status, body: fromOutside.body }).toEqual({ list, status: 200, body: { items: [], nextCursor: null } });
      // The admin key reaches beta: its cursor pages on as usual.
      expect((await admin.get(`${list}?cursor=${outside}`)).body.items.length).toBeGreaterThan(0);
    }
  });

  it('when it reads characters, then they stay global', async () => {
    expect((await alpha.get('/api/v1/characters/kai')).status).toBe(200);
  });
});

let alphaKeyHeader: string | undefined;
async function alphaHeader(): Promise<string> {
  alphaKeyHeader ??= `Bearer ${await gateway.mintKey({ name: 'alpha-files', scopes: ['read'], projects: ['alpha'] })}`;
  return alphaKeyHeader;
}
