import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { createDb, databaseStatements, type Db } from '../src';

/** databaseStatements() counts what `pnpm bench` divides by jobs: every statement, transaction control included. */
describe('the statement counter', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('statement-count');
    db = createDb(database.url, { max: 2 });
  });

  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  it('when a read and an interactive transaction of two statements run, then 1 + 4 statements are counted', async () => {
    await db.$queryRaw`SELECT 1`; // connects the pool's clients first: counting starts with the statement, not the connection
    const before = databaseStatements();
    await db.character.findMany({ select: { slug: true } });
    await db.$transaction(async (tx) => {
      await tx.character.create({ data: { slug: 'counted', name: 'Counted' } });
      await tx.character.count();
    });
    expect(databaseStatements() - before).toBe(5);
  });
});
