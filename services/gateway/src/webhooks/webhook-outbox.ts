import { PIPELINE_CATALOG, TERMINAL_EVENTS, WEBHOOK_TYPE_OF_EVENT, type WebhookEventType } from '@anime/contracts';
import { runStatement, SQL_NOW, type Db, type Statement } from '@anime/db';
import type { Logger } from '@anime/logger';
import { eventEndpointsSql, RECOVERY_GRACE_MS, type PipelineQueues, type WebhookEvent } from '@anime/pipeline';

/**
 * PostgreSQL is where webhook messages live, as generations do: Redis keeps nothing on disk, so the
 * generation-events entry of a terminal event, or a delivery job waiting for its retry, may vanish
 * with a Redis restart. A terminal job_events row is `webhooksDispatched` once a webhook_messages
 * row exists for each endpoint it goes to; a message is owed until `finishedAt`. The gateway's sweep
 * (webhookSweep) dispatches what the stream lost and re-enqueues the deliveries whose job Redis lost.
 */

/** A terminal event a webhook type follows. */
export type DispatchEvent = WebhookEvent & { seq: number };

const TERMINAL_TYPES = `(${TERMINAL_EVENTS.map((name) => `'${name}'`).join(', ')})`;
const ms = (param: string) => `make_interval(secs => ${param}::double precision / 1000)`;

// Several events ($1 generations, $2 webhook types, $3 seqs, in step): the endpoints each goes to
// (eventEndpointsSql), a message recorded for each, and the events
// marked dispatched, in one statement: all or nothing. `i` is an event's 1-based place in the arrays;
// an event whose generation does not exist has no row (no message) and is marked dispatched too.
// Each array is read through a sub-select: planned for its values, unnest's row estimate was the
// batch's own length (1 to 3 events mostly), cheaper on paper than the generic plan's 10 rows every
// time, so PostgreSQL planned the statement again on every execution (about 1.1 ms each) and never
// kept its generic plan. Behind a sub-select the estimate is the same for both, and the generic plan
// serves from the sixth execution of a connection on.
const DISPATCH: Statement = {
  name: 'webhook-dispatch-events',
  text: `WITH q AS (
    SELECT * FROM unnest((SELECT $1::uuid[]), (SELECT $2::text[]), (SELECT $3::int[])) WITH ORDINALITY AS q(g, t, s, i)
  ), found AS (
    SELECT q.i, q.g, q.t, q.s, ${eventEndpointsSql('j', 'q.t')} AS endpoints FROM q JOIN generation_jobs j ON j.id = q.g
  ), added AS (
    INSERT INTO webhook_messages ("endpointId", "generationId", seq, "eventType", attempts, "nextAttemptAt", "createdAt", "updatedAt")
    SELECT m.e, f.g, f.s, f.t, 0, ${SQL_NOW}, ${SQL_NOW}, ${SQL_NOW} FROM found f CROSS JOIN LATERAL unnest(f.endpoints) AS m(e)
    ON CONFLICT DO NOTHING RETURNING 1
  ), marked AS (
    UPDATE job_events SET "webhooksDispatched" = true
    WHERE ("jobId", seq) IN (SELECT q.g, q.s FROM q) AND NOT "webhooksDispatched"
  )
  SELECT i::int AS i, endpoints::text[] AS endpoints FROM found`,
};

// Terminal events older than $1 ms whose messages were never recorded (the stream entry lost, or no gateway read it yet).
const UNDISPATCHED: Statement = {
  name: 'webhook-undispatched-events',
  text: `SELECT "jobId"::text AS "generationId", seq, type FROM job_events
    WHERE NOT "webhooksDispatched" AND type IN ${TERMINAL_TYPES} AND "createdAt" < ${SQL_NOW} - ${ms('$1')}
    ORDER BY "createdAt" LIMIT $2`,
};

// Messages still owed, untouched for $1 ms and due for $1 ms (a try hours away has its delayed job to
// come, or is handed on once due: a sweep never asks Redis about every message a dead receiver is
// owed), after the cursor ($2 updatedAt as text, $3 endpoint, $4 generation, $5 seq).
const OWED: Statement = {
  name: 'webhook-owed-messages',
  text: `SELECT "endpointId"::text AS "endpointId", "generationId"::text AS "generationId", seq, "eventType",
      to_char("updatedAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS') AS "updatedAt",
      GREATEST(0, CEIL(EXTRACT(EPOCH FROM ("nextAttemptAt" - ${SQL_NOW})) * 1000))::bigint AS "dueInMs"
    FROM webhook_messages
    WHERE "finishedAt" IS NULL AND "updatedAt" < ${SQL_NOW} - ${ms('$1')} AND "nextAttemptAt" < ${SQL_NOW} - ${ms('$1')}
      AND ($2::timestamp IS NULL OR ("updatedAt", "endpointId", "generationId", seq) > ($2::timestamp, $3::uuid, $4::uuid, $5::int))
    ORDER BY "updatedAt", "endpointId", "generationId", seq LIMIT $6`,
};

const STILL_OWED: Statement = {
  name: 'webhook-message-still-owed',
  text: `SELECT 1 FROM webhook_messages WHERE "endpointId" = $1::uuid AND "generationId" = $2::uuid AND seq = $3 AND "finishedAt" IS NULL`,
};

const PAGE = 500;

export interface OutboxDeps {
  db: Db;
  queues: PipelineQueues;
  log: Logger;
}

/**
 * Records the messages of terminal events in PostgreSQL (one per endpoint each goes to, read by the
 * same statement) and marks the events dispatched, then enqueues their delivery jobs. Recorded first: a Redis that refuses or
 * loses the jobs loses nothing, the sweep enqueues them. The job id (endpoint, generation, seq)
 * makes a second enqueue of one message a no-op. `all` are every terminal event handled (those
 * going to no endpoint are marked dispatched too).
 */
export async function dispatchEvents(deps: OutboxDeps, events: DispatchEvent[]): Promise<{ event: DispatchEvent; endpoints: string[] }[]> {
  if (!events.length) return [];
  const rows = await runStatement<{ i: number; endpoints: string[] }>(deps.db, DISPATCH, [events.map((e) => e.generationId), events.map((e) => e.type), events.map((e) => e.seq)]);
  const found: string[][] = events.map(() => []);
  for (const { i, endpoints } of rows) found[i - 1] = endpoints;
  const dispatched = events.map((event, i) => ({ event, endpoints: found[i] }));
  const messages = dispatched.flatMap(({ event, endpoints }) => endpoints.map((endpointId) => ({ endpointId, ...event })));
  for (const m of messages) {
    await deps.queues.enqueue('webhookDeliveries', { schemaVersion: 1, endpointId: m.endpointId, generationId: m.generationId, eventType: m.type, seq: m.seq });
  }
  return dispatched;
}

/**
 * One pass of the webhook recovery sweep: terminal events older than `graceMs` never dispatched are
 * dispatched; messages still owed, untouched for `graceMs` and due (their next try `graceMs` past),
 * whose delivery job Redis no longer holds (or holds finished) get it again. A live job (waiting,
 * active, delayed) is left alone. Returns how many events and deliveries it handed on.
 */
export async function webhookSweep(deps: OutboxDeps, graceMs = RECOVERY_GRACE_MS): Promise<{ events: number; deliveries: number }> {
  let events = 0;
  for (;;) {
    const rows = await runStatement<{ generationId: string; seq: number; type: string }>(deps.db, UNDISPATCHED, [graceMs, PAGE]);
    const page = rows.flatMap((r) => {
      const type = WEBHOOK_TYPE_OF_EVENT[r.type];
      return type ? [{ generationId: r.generationId, seq: r.seq, type }] : [];
    });
    await dispatchEvents(deps, page);
    events += page.length;
    if (rows.length < PAGE) break;
  }

  const entry = PIPELINE_CATALOG.webhookDeliveries;
  const queue = deps.queues.byKey.webhookDeliveries;
  let deliveries = 0;
  let after: [string | null, string | null, string | null, number | null] = [null, null, null, null];
  for (;;) {
    const page = await runStatement<{ endpointId: string; generationId: string; seq: number; eventType: WebhookEventType; updatedAt: string; dueInMs: string | number }>(deps.db, OWED, [graceMs, ...after, PAGE]);
    for (const m of page) {
      const payload = { schemaVersion: 1 as const, endpointId: m.endpointId, generationId: m.generationId, eventType: m.eventType, seq: m.seq };
      const jobId = entry.jobId(payload)!;
      const state = await queue.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
      // Read again: its job may have delivered it (and been removed) since the page was read.
      if (!(await runStatement(deps.db, STILL_OWED, [m.endpointId, m.generationId, m.seq])).length) continue;
      if (state !== 'unknown') await queue.remove(jobId).catch(() => undefined);
      await deps.queues.enqueue('webhookDeliveries', payload, { delayMs: Number(m.dueInMs) });
      deliveries++;
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1];
    after = [last.updatedAt, last.endpointId, last.generationId, last.seq];
  }
  if (events || deliveries) deps.log.info('webhooks: recovery sweep handed on what Redis lost', { events, deliveries });
  return { events, deliveries };
}
