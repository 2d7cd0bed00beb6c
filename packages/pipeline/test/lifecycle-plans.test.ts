import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, poolOf, type Db, type Statement } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle';
import * as statements from '../src/lifecycle/lifecycle-statements';

/*
 * A named statement keeps, per connection, the generic plan PostgreSQL made from the statistics of
 * the moment. Every lifecycle statement finds its job by id; if its state condition could serve as
 * an index condition, a plan made on a new install (no statistics) could walk the (stage, updatedAt)
 * index through every job waiting at that stage, once per transition, for the connection's whole
 * life: seen in the bench, the submit statement filtering up to 308 rows of a 1,000-job backlog.
 */

// A producer's request is found by its (source, requestId) key, or by the requestId index (which the
// planner may prefer for it): either reads the request's own rows.
const ROW_LOOKUPS = new Set(['generation_jobs_pkey', 'generation_jobs_source_requestId_key', 'generation_jobs_requestId_idx']);
// The statements that count a key's generations queued or running against its queue cap
// (MAX_QUEUED_PER_KEY) do it in a migration's function (generation_active_count), out of these
// plans: that it reads the key's range of the (apiKeyId, status) index is queue-room-count-plan.test.ts's.
const KEY_COUNTS = new Set(['lifecycle-active-of-key', 'lifecycle-active-keyless']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const scansOfJobs = (node: PlanNode): PlanNode[] => [
  ...(node['Relation Name'] === 'generation_jobs' && node['Node Type'] !== 'ModifyTable' ? [node] : []),
  ...(node.Plans ?? []).flatMap(scansOfJobs),
];

const isStatement = (value: unknown): value is Statement => typeof value === 'object' && value !== null && 'name' in value && 'text' in value;
/** Every statement the module exports, REOPEN's one per stage included. */
const allStatements = (): Statement[] =>
  Object.values(statements).flatMap((value) => (isStatement(value) ? [value] : Array.isArray(value) ? [] : Object.values(value).filter(isStatement)));

const parameterCount = (text: string) => Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));

describe('the plans of the lifecycle statements', () => {
  let database: TestDatabase;
  let db: Db;
  let client: { query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>; release(): void };

  beforeAll(async () => {
    database = await createTestDatabase('lifecycle-plans');
    db = createDb(database.url, { max: 2 });
    const lifecycle = new JobLifecycle(db);
    const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    const conditioning = { positive: 'p', negative: 'n', loras: [], references: [], outfit: null };
    const resolution = { characterId: character.id, characterVersionId: version.id, conditioning };
    const body = generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' });
    await lifecycle.create({ body, source: 'test', resolution });
    client = await poolOf(db).connect();
    await client.query('SET plan_cache_mode = force_generic_plan');
  });

  afterAll(async () => {
    client.release();
    await db.$disconnect();
    await database.drop();
  });

  it('when each statement is planned on a new install (a few jobs, no statistics yet), then it reaches generation_jobs by its key alone', async () => {
    const scans: Record<string, string[]> = {};
    for (const [index, statement] of allStatements().entries()) {
      const name = `plan_${index}`;
      await client.query(`PREPARE ${name} AS ${statement.text}`);
      const nulls = Array.from({ length: parameterCount(statement.text) }, () => 'NULL').join(', ');
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${nulls ? `(${nulls})` : ''}`);
      const plan = (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0].Plan;
      scans[statement.name] = scansOfJobs(plan).map((scan) => scan['Index Name'] ?? scan['Node Type']);
      await client.query(`DEALLOCATE ${name}`);
    }
    expect(Object.keys(scans).length).toBeGreaterThanOrEqual(19);
    const otherScans = Object.entries(scans).flatMap(([name, used]) => used.filter((scan) => !ROW_LOOKUPS.has(scan)).map((scan) => `${name}: ${scan}`));
    expect(otherScans).toEqual([]);
    for (const name of KEY_COUNTS) expect(scans[name]).toEqual([]);
    expect(scans['lifecycle-submit']).toEqual(['generation_jobs_pkey']);
    expect(scans['lifecycle-started']).toEqual(['generation_jobs_pkey', 'generation_jobs_pkey']);
  });
});
