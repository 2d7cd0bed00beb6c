import { generationRequestBodySchema } from '@anime/contracts';
import { createDb, poolOf, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { JobLifecycle, type PipelineQueues } from '@anime/pipeline';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { dispatchEvents } from '../src/webhooks/webhook-outbox';

const MISSING = '00000000-0000-4000-8000-000000000000';
const log = createLogger('gateway', 'error');

/**
 * The dispatcher's batch (a read of the generation-events stream, or a page of the recovery sweep):
 * which endpoints each terminal event goes to, a webhook_messages row for each, and the events marked
 * dispatched, all in one statement; then the delivery jobs.
 */
describe('dispatchEvents (the webhook outbox records a batch in one statement)', () => {
  let database: TestDatabase;
  let db: Db;
  const enqueued: unknown[] = [];
  const queues = { enqueue: async (_key: string, payload: unknown) => void enqueued.push(payload) } as unknown as PipelineQueues;

  beforeAll(async () => {
    database = await createTestDatabase('webhook-dispatch');
    db = createDb(database.url, { max: 2 });
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });

  /** A generation that was canceled: its job:canceled (seq 2) is a terminal event. */
  const canceled = async (project: string, webhookUrl?: string, apiKeyId?: string) => {
    const body = generationRequestBodySchema.parse({ character: 'kai', prompt: 'x', project, ...(webhookUrl ? { webhook: { url: webhookUrl } } : {}) });
    const lifecycle = new JobLifecycle(db);
    const { job } = await lifecycle.create({ body, source: 'test', apiKeyId });
    const event = await lifecycle.cancelAtOnce(job.id);
    return { id: job.id, seq: event!.seq };
  };
  // Each registered a second after the one before: the order endpoints go in is their registration's.
  let registered = Date.parse('2026-01-01T00:00:00Z');
  const endpoint = async (url: string, events: string[], projects: string[] | null, apiKeyId?: string) =>
    (await db.webhookEndpoint.create({ data: { url, events, secret: 's', projects: projects ?? undefined, apiKeyId, createdAt: new Date((registered += 1000)) } })).id;

  it('when a batch of terminal events is dispatched, then one statement records a message per endpoint each goes to (its request’s own included, once) and marks every event dispatched, a missing generation’s too; dispatching it again records nothing twice', async () => {
    const key = await db.apiKey.create({ data: { name: 'k', keyHash: 'h1', prefix: 'p1', scopes: ['generate'] } });
    const everywhere = await endpoint('https://hooks.example/all', ['generation.canceled'], null);
    const alphaOnly = await endpoint('https://hooks.example/alpha', ['generation.canceled'], ['alpha']);
    const own = await endpoint('https://hooks.example/own', [], null, key.id);
    // Registered by another key: not the own endpoint of a generation of `key`.
    await endpoint('https://hooks.example/own', [], null);
    // Deleted: no longer live, though it subscribed to the type everywhere.
    await db.webhookEndpoint.update({ where: { id: await endpoint('https://hooks.example/gone', ['generation.canceled'], null) }, data: { deletedAt: new Date() } });
    const alpha = await canceled('alpha', 'https://hooks.example/all');
    const beta = await canceled('beta', 'https://hooks.example/own', key.id);
    const quiet = await canceled('gamma');
    const events = [
      { generationId: beta.id, seq: beta.seq, type: 'generation.canceled' as const },
      { generationId: MISSING, seq: 2, type: 'generation.canceled' as const },
      { generationId: alpha.id, seq: alpha.seq, type: 'generation.canceled' as const },
      { generationId: quiet.id, seq: quiet.seq, type: 'generation.canceled' as const },
    ];

    const query = jest.spyOn(poolOf(db), 'query');
    let dispatched: Awaited<ReturnType<typeof dispatchEvents>>;
    try {
      dispatched = await dispatchEvents({ db, queues, log }, events);
      expect(query).toHaveBeenCalledTimes(1);
    } finally {
      query.mockRestore();
    }
    expect(dispatched.map((d) => d.endpoints)).toEqual([[everywhere, own], [], [everywhere, alphaOnly], [everywhere]]);
    const messages = await db.webhookMessage.findMany({ orderBy: [{ generationId: 'asc' }, { endpointId: 'asc' }] });
    const expected = [
      { endpointId: everywhere, generationId: beta.id }, { endpointId: own, generationId: beta.id },
      { endpointId: everywhere, generationId: alpha.id }, { endpointId: alphaOnly, generationId: alpha.id },
      { endpointId: everywhere, generationId: quiet.id },
    ].map((m) => ({ ...m, seq: 2, eventType: 'generation.canceled', attempts: 0, finishedAt: null }));
    expect(messages).toHaveLength(expected.length);
    expect(messages).toEqual(expect.arrayContaining(expected.map((m) => expect.objectContaining(m))));
    expect(enqueued).toHaveLength(expected.length);
    const marked = await db.jobEvent.findMany({ where: { type: 'job:canceled' }, select: { jobId: true, webhooksDispatched: true } });
    expect(marked.map((e) => e.webhooksDispatched)).toEqual([true, true, true]);

    await dispatchEvents({ db, queues, log }, events);
    expect(await db.webhookMessage.count()).toBe(expected.length);
  });

  it('when a connection dispatches batch after batch, then the statement is planned once for them all (a generic plan), not once per batch, and still records each batch', async () => {
    // One connection: the prepared statement and its plans are that connection's.
    const single = createDb(database.url, { max: 1 });
    try {
      const plans = await endpoint('https://hooks.example/plans', ['generation.canceled'], ['plans']);
      const before = await single.webhookMessage.count();
      let messages = 0;
      // Batches of one to three events, as the dispatcher's reads and the sweep's pages come.
      for (let batch = 0; batch < 12; batch++) {
        const made = await Promise.all(Array.from({ length: 1 + (batch % 3) }, () => canceled('plans')));
        const dispatched = await dispatchEvents({ db: single, queues, log }, made.map((m) => ({ generationId: m.id, seq: m.seq, type: 'generation.canceled' as const })));
        expect(dispatched).toHaveLength(made.length);
        for (const d of dispatched) expect(d.endpoints).toContain(plans);
        messages += dispatched.reduce((n, d) => n + d.endpoints.length, 0);
      }
      expect((await single.webhookMessage.count()) - before).toBe(messages);
      const { rows } = await poolOf(single).query(`SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = 'webhook-dispatch-events'`);
      // PostgreSQL plans the first five executions for their values; a statement whose generic plan
      // is never chosen is planned again on every execution (about a millisecond for this one).
      expect(rows).toEqual([{ generic: expect.any(Number), custom: expect.any(Number) }]);
      expect(rows[0].custom).toBeLessThanOrEqual(5);
      expect(rows[0].generic).toBeGreaterThanOrEqual(1);
    } finally {
      await single.$disconnect();
    }
  });

  it('when the batch is empty, then nothing is sent to PostgreSQL', async () => {
    const query = jest.spyOn(poolOf(db), 'query');
    try {
      expect(await dispatchEvents({ db, queues, log }, [])).toEqual([]);
      expect(query).not.toHaveBeenCalled();
    } finally {
      query.mockRestore();
    }
  });
});
