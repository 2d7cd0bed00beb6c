import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, poolOf, type Db } from '../src';

describe('poolOf', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('pool-of');
    db = createDb(database.url, { max: 2 });
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  it('when a row is read on the pool, then its values are what Prisma returns (timestamps in UTC, BIGINT as bigint, JSON parsed)', async () => {
    const created = await db.generationJob.create({ data: { request: { a: [1, 'x'] }, seed: 2n ** 40n, project: 'p', episode: 'e', scene: 's', startedAt: new Date('2026-01-02T03:04:05.678Z') } });
    const { rows } = await poolOf(db).query({ name: 'pool-of-test', text: 'SELECT * FROM generation_jobs WHERE id = $1::uuid', values: [created.id] });
    expect(rows[0]).toEqual(await db.generationJob.findUniqueOrThrow({ where: { id: created.id } }));
    expect(rows[0].startedAt.toISOString()).toBe('2026-01-02T03:04:05.678Z');
  });

  it('when a Db was not made by createDb, then poolOf says so', () => {
    expect(() => poolOf({} as Db)).toThrow(/not made by createDb/);
  });
});
