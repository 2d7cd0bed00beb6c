import { poolOf } from '@anime/db';
import { BAD_VERSION_PAGE_QUERIES, range, versionNumbers, walkCursorPages, type CursorPage } from './cursor-pages';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { portraitGraph, portraitParams } from './workflow-template-fixture';

/*
 * A template's versions are listed as a character's are: paged, oldest first, the cursor a version
 * number. A studio's CI registering its graph on every deploy gathers versions without end. The
 * templates themselves are paged too, the built-in first, then by slug (the cursor a slug).
 */

let gateway: TestGateway;
let api: ReturnType<typeof jsonClient>;

// A template registered on every deploy for months: 120 versions.
const VERSIONS = 120;

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(response.body.error.code).toBe(code);
};

beforeAll(async () => {
  gateway = await startTestGateway('workflow-lists');
  api = gateway.client();
  const register = (slug: string, note?: string) => api.post('/api/v1/workflows', { slug, graph: portraitGraph(), params: portraitParams(), ...(note ? { note } : {}) });
  expect((await register('pair', 'first')).status).toBe(201);
  expect((await register('pair', 'second')).status).toBe(201);
  expect((await register('deploys', 'deploy 1')).status).toBe(201);
  // The other 119 written at once, each a copy of version 1's graph (the route reads them as registered ones).
  await poolOf(gateway.db).query(
    `INSERT INTO workflow_template_versions (id, "templateId", number, name, graph, params, note)
     SELECT gen_random_uuid(), t.id, n, 'deploy ' || n, v.graph, v.params, 'deploy ' || n FROM generate_series(2, $1::int) n
     JOIN workflow_templates t ON t.slug = 'deploys' JOIN workflow_template_versions v ON v."templateId" = t.id AND v.number = 1`,
    [VERSIONS],
  );
  await poolOf(gateway.db).query(`UPDATE workflow_templates SET "currentVersion" = $1 WHERE slug = 'deploys'`, [VERSIONS]);
});
afterAll(() => gateway?.close());

describe("a workflow template's version list, paged", () => {
  it('when a template with few versions is listed, then the answer is every version as before, with nextCursor null', async () => {
    const response = await api.get('/api/v1/workflows/pair/versions');
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual(['items', 'nextCursor']);
    expect(response.body).toEqual({
      items: [1, 2].map((number) => ({ number, name: 'pair', graph: portraitGraph(), params: portraitParams(), note: number === 1 ? 'first' : 'second', createdAt: expect.any(String) })),
      nextCursor: null,
    });
  });

  it('when listed without a limit, then the first 50 come, oldest first, and nextCursor names the last of them', async () => {
    const response = await api.get('/api/v1/workflows/deploys/versions');
    expect(response.status).toBe(200);
    expect(versionNumbers(response.body)).toEqual(range(1, 50));
    expect(response.body.nextCursor).toBe('50');
    expect(response.body.items[49]).toEqual({ number: 50, name: 'deploy 50', graph: portraitGraph(), params: portraitParams(), note: 'deploy 50', createdAt: expect.any(String) });
  });

  it('when walked by its cursors, then every version comes once, in order, and the last page says there is no more', async () => {
    const pages = await walkCursorPages(api, '/api/v1/workflows/deploys/versions?limit=50', versionNumbers);
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(pages.flat()).toEqual(range(1, VERSIONS));
  });

  it('when a page ends exactly on the last version, then nextCursor is null; past the last, the page is empty', async () => {
    const tail = await api.get('/api/v1/workflows/deploys/versions?cursor=20&limit=200');
    expect([versionNumbers(tail.body), tail.body.nextCursor]).toEqual([range(21, VERSIONS), null]);
    const one = await api.get(`/api/v1/workflows/deploys/versions?limit=1&cursor=${VERSIONS - 2}`);
    expect([versionNumbers(one.body), one.body.nextCursor]).toEqual([[VERSIONS - 1], String(VERSIONS - 1)]);
    expect((await api.get(`/api/v1/workflows/deploys/versions?limit=1&cursor=${VERSIONS - 1}`)).body).toEqual({ items: [expect.objectContaining({ number: VERSIONS })], nextCursor: null });
    expect((await api.get(`/api/v1/workflows/deploys/versions?cursor=${VERSIONS}`)).body).toEqual({ items: [], nextCursor: null });
    expect((await api.get('/api/v1/workflows/deploys/versions?cursor=999999999')).body).toEqual({ items: [], nextCursor: null });
    expectError(await api.get('/api/v1/workflows/nope/versions?limit=5&cursor=3'), 404, 'workflow_not_found');
  });

  it('when the built-in txt2img is listed, then its one version comes on a page of its own, and past it the page is empty', async () => {
    expect((await api.get('/api/v1/workflows/txt2img/versions')).body).toEqual({ items: [expect.objectContaining({ number: 1, graph: null })], nextCursor: null });
    expect((await api.get('/api/v1/workflows/txt2img/versions?limit=1')).body).toEqual({ items: [expect.objectContaining({ number: 1 })], nextCursor: null });
    expect((await api.get('/api/v1/workflows/txt2img/versions?cursor=1')).body).toEqual({ items: [], nextCursor: null });
    expectError(await api.get('/api/v1/workflows/txt2img/versions?limit=0'), 400, 'validation_failed');
  });

  it.each(BAD_VERSION_PAGE_QUERIES)('when the list is asked with %s, then 400 validation_failed names it', async (query, field) => {
    const response = await api.get(`/api/v1/workflows/deploys/versions?${query}`);
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: field, message: expect.any(String) }]);
  });
});

describe('the template list, paged', () => {
  // A studio with a template per show, scene type and deploy target: 80 registered besides 'pair' and 'deploys'.
  const TEMPLATES = 80;
  const slugs: string[] = [];
  const slugsOf = (page: CursorPage<{ slug: string }>) => page.items.map((t) => t.slug);

  beforeAll(async () => {
    await poolOf(gateway.db).query(
      `WITH t AS (
         INSERT INTO workflow_templates (id, slug, name, "currentVersion", "updatedAt")
         SELECT gen_random_uuid(), 'show-' || lpad(n::text, 3, '0'), 'Show ' || n, 1, now() FROM generate_series(1, $1::int) n RETURNING id, slug, name)
       INSERT INTO workflow_template_versions (id, "templateId", number, name, graph, params)
       SELECT gen_random_uuid(), t.id, 1, t.name, v.graph, v.params FROM t
       CROSS JOIN (SELECT v.graph, v.params FROM workflow_template_versions v JOIN workflow_templates p ON p.id = v."templateId" AND p.slug = 'pair' AND v.number = 1) v`,
      [TEMPLATES],
    );
    slugs.push('txt2img', 'deploys', 'pair', ...Array.from({ length: TEMPLATES }, (_, i) => `show-${String(i + 1).padStart(3, '0')}`));
    slugs.splice(1, slugs.length - 1, ...slugs.slice(1).sort());
  });

  it('when listed without a limit, then the built-in and the first 49 registered come, by slug, and nextCursor names the last of them', async () => {
    const response = await api.get('/api/v1/workflows');
    expect(response.status).toBe(200);
    expect(slugsOf(response.body)).toEqual(slugs.slice(0, 50));
    expect(response.body.nextCursor).toBe(slugs[49]);
    expect(response.body.items.slice(0, 3)).toEqual([
      { slug: 'txt2img', name: 'Built-in text-to-image', currentVersion: 1, builtIn: true },
      { slug: 'deploys', name: 'deploys', currentVersion: VERSIONS, builtIn: false },
      { slug: 'pair', name: 'pair', currentVersion: 2, builtIn: false },
    ]);
  });

  it('when walked by its cursors, then every template comes once, in order, and the last page says there is no more', async () => {
    for (const limit of [1, 2, 30, 200]) {
      const pages = await walkCursorPages(api, `/api/v1/workflows?limit=${limit}`, slugsOf, 100);
      expect({ limit, slugs: pages.flat() }).toEqual({ limit, slugs });
      expect(pages.length).toBe(Math.ceil(slugs.length / limit));
    }
  });

  it('when a cursor names the last template or a slug past it, then the page is empty; one that names nothing still places the page', async () => {
    expect((await api.get(`/api/v1/workflows?cursor=${slugs.at(-1)}`)).body).toEqual({ items: [], nextCursor: null });
    expect((await api.get('/api/v1/workflows?cursor=zzz')).body).toEqual({ items: [], nextCursor: null });
    expect(slugsOf((await api.get('/api/v1/workflows?cursor=show-0405&limit=3')).body)).toEqual(['show-041', 'show-042', 'show-043']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['limit=1e2', 'limit'],
    ['cursor=Bad%20Slug', 'cursor'],
    ['cursor=a&cursor=b', 'cursor'],
    [`cursor=${'a'.repeat(65)}`, 'cursor'],
  ])('when the list is asked with %s, then 400 validation_failed names it', async (query, field) => {
    const response = await api.get(`/api/v1/workflows?${query}`);
    expectError(response, 400, 'validation_failed');
    expect(response.body.error.details).toEqual([{ path: field, message: expect.any(String) }]);
  });
});
