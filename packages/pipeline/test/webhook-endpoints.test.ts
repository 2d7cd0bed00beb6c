import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { JobLifecycle } from '../src/lifecycle/job-lifecycle';
import { endpointsForEvent, endpointsForEvents } from '../src/webhook-endpoints';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('endpointsForEvents (the webhook dispatcher reads a whole batch in one statement)', () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('webhook-endpoints');
    db = createDb(database.url, { max: 2 });
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  const generation = async (project: string, webhookUrl?: string) => {
    const body = generationRequestBodySchema.parse({ character: 'kai', prompt: 'x', project, ...(webhookUrl ? { webhook: { url: webhookUrl } } : {}) });
    return (await new JobLifecycle(db).create({ body, source: 'test' })).job.id;
  };
  const endpoint = async (url: string, events: string[], projects: string[] | null, extra: { deletedAt?: Date } = {}) =>
    (await db.webhookEndpoint.create({ data: { url, events, secret: 's', projects: projects ?? undefined, ...extra } })).id;

  it('when several events are asked at once, then each gets, in the order asked, the live endpoints of its type reaching its project, its request’s own endpoint added, and a missing generation null', async () => {
    const everywhere = await endpoint('https://hooks.example/all', ['generation.completed', 'generation.failed'], null);
    const alphaOnly = await endpoint('https://hooks.example/alpha', ['generation.completed'], ['alpha']);
    await endpoint('https://hooks.example/gone', ['generation.completed'], null, { deletedAt: new Date() });
    const own = await endpoint('https://hooks.example/own', [], null);
    const alpha = await generation('alpha');
    const beta = await generation('beta', 'https://hooks.example/own');

    const found = await endpointsForEvents(db, [
      { generationId: beta, type: 'generation.completed' },
      { generationId: MISSING, type: 'generation.completed' },
      { generationId: alpha, type: 'generation.completed' },
      { generationId: alpha, type: 'generation.failed' },
    ]);
    expect(found).toEqual([[everywhere, own], null, [everywhere, alphaOnly], [everywhere]]);
    expect(await endpointsForEvent(db, alpha, 'generation.completed')).toEqual([everywhere, alphaOnly]);
    expect(await endpointsForEvent(db, MISSING, 'generation.failed')).toBeNull();
    expect(await endpointsForEvents(db, [])).toEqual([]);
  });
});
