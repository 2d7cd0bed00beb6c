import { createDb, poolOf, type SqlPool } from '@anime/db';
import { ADMIN_URL } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { portraitGraph, portraitParams } from './workflow-template-fixture';

/*
 * A studio that has run for a year holds hundreds of thousands of generations and assets. A page of
 * a list must cost about its limit whatever the tables hold: the statement each list request sends
 * is recorded and run again under EXPLAIN ANALYZE over 20,000 generations (an asset each), and the
 * rows its plan reads from the listed table stay within a few pages' worth. At 300,000 generations a
 * sequential scan and sort took 2.6 s a page, and a page deep behind a cursor read every newer row.
 */

const ROWS = 20_000;
const LIMIT = 20;
const MOST_ROWS_READ = 10 * (LIMIT + 1);

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

interface Recorded {
  text: string;
  values: unknown[];
}

/** Rows the plan read from `table`: those it returned from its scans and those its filters dropped. */
const rowsRead = (node: PlanNode, table: string): number =>
  (node['Relation Name'] === table
    ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)
    : 0) + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, table), 0);

/** How the plan reads `table`: each scan of it, as "<node type> <index name>". */
const scansOf = (node: PlanNode, table: string): string[] => [
  ...(node['Relation Name'] === table ? [`${node['Node Type']} ${node['Index Name'] ?? ''}`.trim()] : []),
  ...(node.Plans ?? []).flatMap((child) => scansOf(child, table)),
];

let gateway: TestGateway;
let admin: SqlPool;
const recorded: Recorded[] = [];

beforeAll(async () => {
  // Every statement the gateway's connections send (Prisma's through the same node-postgres
  // clients), patched before any of them connects: each connection keeps the query() it found.
  const probeDb = createDb(ADMIN_URL, { max: 1 });
  const probe = await poolOf(probeDb).connect();
  const prototype = Object.getPrototypeOf(probe) as { query: (...args: unknown[]) => unknown };
  probe.release();
  await probeDb.$disconnect();
  const query = prototype.query;
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const config = args[0] as { text?: string; values?: unknown[] };
    if (typeof config === 'object' && config?.text) recorded.push({ text: config.text, values: config.values ?? [] });
    return query.apply(this, args);
  };
  gateway = await startTestGateway('list-plans');
  const api = gateway.client();
  expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  expect((await api.post('/api/v1/characters', { name: 'Rin', slug: 'rin', definition: { ...kaiDefinition, displayName: 'Rin' } })).status).toBe(201);
  admin = poolOf(gateway.db);
  // A year in a few seconds: one generation a minute, in 5 projects, an episode every 5,000 and a
  // scene every 500; 10 of them by Rin and 10 from a rarely used source, all among the oldest; every
  // other one with a producer's idempotency key (requestId). Each has one asset.
  await admin.query(`
    INSERT INTO generation_jobs (id, status, stage, source, "requestId", request, "characterId", "characterVersionId", project, episode, scene, "createdAt", "updatedAt")
    SELECT gen_random_uuid(), 'completed', 'filed', CASE WHEN i > $1 - 10 THEN 'rare-source' ELSE 'api' END, CASE WHEN i % 2 = 0 THEN 'req-' || i END, '{}',
      v."characterId", v.id, 'p' || (i % 5), 'ep' || (i / 5000), 'sc' || (i / 500), now() - i * interval '1 minute', now()
    FROM generate_series(1, $1::int) i
    JOIN characters c ON c.slug = CASE WHEN i > $1 - 10 THEN 'rin' ELSE 'kai' END
    JOIN character_versions v ON v."characterId" = c.id AND v.number = 1`, [ROWS]);
  await admin.query(`
    INSERT INTO assets (id, "jobId", "characterVersionId", "sourceKey", path, sha256, bytes, width, height, mime, project, episode, scene, metadata, "createdAt")
    SELECT gen_random_uuid(), j.id, j."characterVersionId", 'out', j.id || '.png', md5(j.id::text), 1, 8, 8, 'image/png', j.project, j.episode, j.scene, '{}', j."createdAt"
    FROM generation_jobs j`);
  // Kai's version 2, made with the 10 oldest of Kai's generations (and their assets): `character=kai@2`.
  await admin.query(`INSERT INTO character_versions (id, "characterId", number, definition) SELECT gen_random_uuid(), c.id, 2, '{}' FROM characters c WHERE c.slug = 'kai'`);
  await admin.query(`
    WITH v2 AS (SELECT v.id FROM character_versions v JOIN characters c ON c.id = v."characterId" AND c.slug = 'kai' WHERE v.number = 2),
    oldest AS (SELECT j.id FROM generation_jobs j JOIN characters c ON c.id = j."characterId" AND c.slug = 'kai' ORDER BY j."createdAt" LIMIT 10),
    moved AS (UPDATE generation_jobs SET "characterVersionId" = (SELECT id FROM v2) WHERE id IN (SELECT id FROM oldest) RETURNING id)
    UPDATE assets SET "characterVersionId" = (SELECT id FROM v2) WHERE "jobId" IN (SELECT id FROM moved)`);
  await admin.query('ANALYZE');
}, 120_000);

afterAll(() => gateway?.close());

type Table = 'generation_jobs' | 'assets' | 'webhook_deliveries';

/** The plan, as run, of the list request's page statement (the one ordered by createdAt). */
async function planFor(path: string, table: Table, token?: string): Promise<PlanNode> {
  recorded.length = 0;
  const response = await gateway.client(token).get(path);
  expect(response.status).toBe(200);
  const pages = recorded.filter((r) => r.text.includes(`FROM "public"."${table}"`) && /ORDER BY "public"\."\w+"\."createdAt" DESC/.test(r.text));
  expect(pages).toHaveLength(1);
  const { rows } = await admin.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${pages[0].text}`, values: pages[0].values });
  return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
}

/** How many rows of `table` the plan of the list request's page statement reads. */
const readsFor = async (path: string, table: Table, token?: string): Promise<number> => rowsRead(await planFor(path, table, token), table);

describe('a page of a list over a year of generations', () => {
  it.each([
    ['every generation', `/api/v1/generations?limit=${LIMIT}`],
    ['one project', `/api/v1/generations?project=p3&limit=${LIMIT}`],
    ['a character with a few generations among thousands', `/api/v1/generations?character=rin&limit=${LIMIT}`],
    ['a source with a few generations among thousands', `/api/v1/generations?source=rare-source&limit=${LIMIT}`],
    ["one version of a character, with a few generations among its thousands", `/api/v1/generations?character=kai@2&limit=${LIMIT}`],
  ])('when the list is read for %s, then its page reads about its limit of rows, not the table', async (_, path) => {
    expect(await readsFor(path, 'generation_jobs')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when the list is read by a producer\'s requestId without its source, then the page is a lookup of the requestId index, not a walk of the (source, requestId) key', async () => {
    const plan = await planFor(`/api/v1/generations?requestId=req-10000&limit=${LIMIT}`, 'generation_jobs');
    expect(scansOf(plan, 'generation_jobs')).toEqual(['Index Scan generation_jobs_requestId_idx']);
    expect(rowsRead(plan, 'generation_jobs')).toBe(1);
  });

  it('when a key limited to one project lists generations, then its page reads about its limit of rows', async () => {
    const key = await gateway.mintKey({ scopes: ['read'], projects: ['p2'] });
    expect(await readsFor(`/api/v1/generations?limit=${LIMIT}`, 'generation_jobs', key)).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when a page deep in the list is read by its cursor, then it reads about its limit of rows, not every newer one', async () => {
    const { rows } = await admin.query(`SELECT id FROM generation_jobs ORDER BY "createdAt" DESC, id DESC OFFSET 15000 LIMIT 1`);
    expect(await readsFor(`/api/v1/generations?limit=${LIMIT}&cursor=${rows[0].id}`, 'generation_jobs')).toBeLessThanOrEqual(MOST_ROWS_READ);
    const { rows: projectRows } = await admin.query(`SELECT id FROM generation_jobs WHERE project = 'p3' ORDER BY "createdAt" DESC, id DESC OFFSET 3000 LIMIT 1`);
    expect(await readsFor(`/api/v1/generations?project=p3&limit=${LIMIT}&cursor=${projectRows[0].id}`, 'generation_jobs')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when a page deep in the asset list is read by its cursor, then it reads about its limit of rows, not every newer one', async () => {
    const { rows } = await admin.query(`SELECT id FROM assets ORDER BY "createdAt" DESC, id DESC OFFSET 15000 LIMIT 1`);
    expect(await readsFor(`/api/v1/assets?limit=${LIMIT}&cursor=${rows[0].id}`, 'assets')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when the assets of an old scene are listed, then the page reads about its limit of rows, not every newer asset of the project', async () => {
    expect(await readsFor(`/api/v1/assets?project=p3&episode=ep3&scene=sc35&limit=${LIMIT}`, 'assets')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it.each([
    ['a character with a few assets among thousands', `/api/v1/assets?character=rin&limit=${LIMIT}`],
    ['one version of that character', `/api/v1/assets?character=rin&version=1&limit=${LIMIT}`],
  ])('when the asset list is read for %s, then its page reads about its limit of rows, not the library', async (_, path) => {
    expect(await readsFor(path, 'assets')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when a page deep in a webhook endpoint\'s delivery log is read by its cursor, then it reads about its limit of rows, not every newer attempt', async () => {
    const { rows: endpoints } = await admin.query(`INSERT INTO webhook_endpoints (id, url, events, secret) VALUES (gen_random_uuid(), 'https://hooks.example.com/log', '{generation.completed}', 'whsec_x') RETURNING id`);
    const endpoint = endpoints[0].id as string;
    await admin.query(
      `INSERT INTO webhook_deliveries (id, "endpointId", "messageId", "eventType", "generationId", attempt, "statusCode", succeeded, "durationMs", "createdAt")
       SELECT gen_random_uuid(), $1, j.id || '-10', 'generation.completed', j.id, 1, 200, true, 5, j."createdAt" FROM generation_jobs j`,
      [endpoint],
    );
    await admin.query('ANALYZE webhook_deliveries');
    const { rows } = await admin.query(`SELECT id FROM webhook_deliveries ORDER BY "createdAt" DESC, attempt DESC, id DESC OFFSET 15000 LIMIT 1`);
    expect(await readsFor(`/api/v1/webhooks/${endpoint}/deliveries?limit=${LIMIT}&cursor=${rows[0].id}`, 'webhook_deliveries')).toBeLessThanOrEqual(MOST_ROWS_READ);
  });

  it('when paged to the end by its cursors, then the list holds every generation once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await gateway.client().get(`/api/v1/generations?project=p4&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...response.body.items.map((g: { id: string }) => g.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    const { rows } = await admin.query(`SELECT id::text FROM generation_jobs WHERE project = 'p4' ORDER BY "createdAt" DESC, id DESC`);
    expect(seen).toEqual(rows.map((r: { id: string }) => r.id));
  });
});

describe("a page of a character's versions, among a thousand", () => {
  // A character edited daily for years, or by a script: 1,000 versions (the most one may hold), ten attributes each.
  const VERSIONS = 1000;
  const ATTRIBUTES = 10;

  beforeAll(async () => {
    expect((await gateway.client().post('/api/v1/characters', { name: 'Saga', slug: 'saga', definition: kaiDefinition })).status).toBe(201);
    await admin.query(
      `INSERT INTO character_versions (id, "characterId", number, definition)
       SELECT gen_random_uuid(), c.id, n, v.definition FROM generate_series(2, $1::int) n
       JOIN characters c ON c.slug = 'saga' JOIN character_versions v ON v."characterId" = c.id AND v.number = 1`,
      [VERSIONS],
    );
    await admin.query(
      `INSERT INTO character_attributes (id, "versionId", key, type, value)
       SELECT gen_random_uuid(), v.id, 'key_' || a, 'number', to_jsonb(v.number) FROM character_versions v
       JOIN characters c ON c.id = v."characterId" AND c.slug = 'saga' CROSS JOIN generate_series(1, $1::int) a`,
      [ATTRIBUTES],
    );
    await admin.query(`UPDATE characters SET "currentVersion" = $1 WHERE slug = 'saga'`, [VERSIONS]);
    await admin.query('ANALYZE character_versions; ANALYZE character_attributes');
  });

  /** The rows of `table` read by every statement the list request sent to it, as run (its versions come in batches). */
  async function versionReads(path: string, table: 'character_versions' | 'character_attributes'): Promise<{ rows: number; scans: string[]; numbers: number[] }> {
    recorded.length = 0;
    const response = await gateway.client().get(path);
    expect(response.status).toBe(200);
    const statements = recorded.filter((r) => r.text.includes(`FROM "public"."${table}"`));
    expect(statements.length).toBeGreaterThan(0);
    let rows = 0;
    const scans: string[] = [];
    for (const statement of statements) {
      const { rows: plan } = await admin.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, values: statement.values });
      const root = (plan[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      rows += rowsRead(root, table);
      scans.push(...scansOf(root, table));
    }
    return { rows, scans, numbers: response.body.items.map((v: { number: number }) => v.number) };
  }

  it.each([
    ['the first page', `/api/v1/characters/saga/versions?limit=${LIMIT}`, 1],
    ['a page deep in its history, by its cursor', `/api/v1/characters/saga/versions?limit=${LIMIT}&cursor=700`, 701],
    ['the last page', `/api/v1/characters/saga/versions?limit=${LIMIT}&cursor=${VERSIONS - LIMIT}`, VERSIONS - LIMIT + 1],
  ])('when %s is read, then it reads about its limit of versions (by the (character, number) key) and their attributes, not the character\'s history', async (_, path, first) => {
    const versions = await versionReads(path, 'character_versions');
    expect(versions.rows).toBeLessThanOrEqual(LIMIT + 1);
    expect(new Set(versions.scans)).toEqual(new Set(['Index Scan character_versions_characterId_number_key']));
    expect((await versionReads(path, 'character_attributes')).rows).toBeLessThanOrEqual(ATTRIBUTES * (LIMIT + 1));
    expect(versions.numbers).toEqual(Array.from({ length: LIMIT }, (_, i) => first + i));
  });
});

describe("a page of a workflow template's versions, among a thousand", () => {
  // A studio's CI registering its graph on every deploy for years: 1,000 versions (a template has no cap).
  const VERSIONS = 1000;

  beforeAll(async () => {
    expect((await gateway.client().post('/api/v1/workflows', { slug: 'ci-portrait', graph: portraitGraph(), params: portraitParams() })).status).toBe(201);
    await admin.query(
      `INSERT INTO workflow_template_versions (id, "templateId", number, name, graph, params)
       SELECT gen_random_uuid(), t.id, n, v.name, v.graph, v.params FROM generate_series(2, $1::int) n
       JOIN workflow_templates t ON t.slug = 'ci-portrait' JOIN workflow_template_versions v ON v."templateId" = t.id AND v.number = 1`,
      [VERSIONS],
    );
    await admin.query(`UPDATE workflow_templates SET "currentVersion" = $1 WHERE slug = 'ci-portrait'`, [VERSIONS]);
    await admin.query('ANALYZE workflow_template_versions');
  });

  it.each([
    ['the first page', `/api/v1/workflows/ci-portrait/versions?limit=${LIMIT}`, 1],
    ['a page deep in its history, by its cursor', `/api/v1/workflows/ci-portrait/versions?limit=${LIMIT}&cursor=700`, 701],
    ['the last page', `/api/v1/workflows/ci-portrait/versions?limit=${LIMIT}&cursor=${VERSIONS - LIMIT}`, VERSIONS - LIMIT + 1],
  ])("when %s is read, then it reads about its limit of versions (by the (template, number) key), not the template's history", async (_, path, first) => {
    recorded.length = 0;
    const response = await gateway.client().get(path);
    expect(response.status).toBe(200);
    const statements = recorded.filter((r) => r.text.includes('FROM "public"."workflow_template_versions"'));
    expect(statements.length).toBeGreaterThan(0);
    let rows = 0;
    const scans: string[] = [];
    for (const statement of statements) {
      const { rows: plan } = await admin.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`, values: statement.values });
      const root = (plan[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      rows += rowsRead(root, 'workflow_template_versions');
      scans.push(...scansOf(root, 'workflow_template_versions'));
    }
    expect(rows).toBeLessThanOrEqual(LIMIT + 1);
    expect(new Set(scans)).toEqual(new Set(['Index Scan workflow_template_versions_templateId_number_key']));
    expect(response.body.items.map((v: { number: number }) => v.number)).toEqual(Array.from({ length: LIMIT }, (_, i) => first + i));
  });
});

describe('a page of the workflow templates, among thousands', () => {
  // A studio registering a template per show, scene type and target for years: 3,000 slugs.
  const TEMPLATES = 3000;

  beforeAll(async () => {
    await admin.query(
      `INSERT INTO workflow_templates (id, slug, name, "currentVersion", "updatedAt")
       SELECT gen_random_uuid(), 'tpl-' || lpad(n::text, 5, '0'), 'Template ' || n, 1, now() FROM generate_series(1, $1::int) n`,
      [TEMPLATES],
    );
    await admin.query('ANALYZE workflow_templates');
  });

  it.each([
    ['the first page', `/api/v1/workflows?limit=${LIMIT}`],
    ['a page deep in the list, by its cursor', `/api/v1/workflows?limit=${LIMIT}&cursor=tpl-02500`],
  ])('when %s is read, then it reads about its limit of templates by the slug index, not every template', async (_, path) => {
    recorded.length = 0;
    const response = await gateway.client().get(path);
    expect(response.status).toBe(200);
    const statements = recorded.filter((r) => r.text.includes('FROM "public"."workflow_templates"'));
    expect(statements).toHaveLength(1);
    const { rows: plan } = await admin.query({ text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statements[0].text}`, values: statements[0].values });
    const root = (plan[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
    expect(rowsRead(root, 'workflow_templates')).toBeLessThanOrEqual(LIMIT + 1);
    expect(scansOf(root, 'workflow_templates')).toEqual(['Index Scan workflow_templates_slug_key']);
    expect(response.body.items).toHaveLength(LIMIT);
  });
});
