import { runStatement, SQL_NOW, type Db, type Statement } from '@anime/db';
import type { Logger } from '@anime/logger';

/**
 * Retention of the webhook tables, as Svix and Stripe keep theirs: delivery attempts
 * (webhook_deliveries, the deliveries list) and finished messages (webhook_messages: delivered,
 * given up, or their endpoint gone) older than WEBHOOK_LOG_RETENTION_DAYS are deleted by the
 * gateway's sweep. A message still owed (finishedAt null: due, or waiting for its retry) is kept
 * whatever its age: deleting it would lose the delivery.
 */

/** Rows one statement deletes at most: a short transaction, locks held briefly. */
export const PRUNE_BATCH = 1_000;
/** Statements per table in one sweep pass: a pass never takes unbounded time; a backlog goes over the next passes. */
export const PRUNE_BATCHES_PER_PASS = 5;

/**
 * Deletes at most $2 rows of `table` matching `condition` ($1: the retention in days), oldest by
 * `oldest` first. By ctid, the rows the sub-select found: a TID scan, whatever the table's size
 * (matching ids instead lets the planner hash-join a scan of the whole table). The condition is
 * checked again on each row as it is when deleted: a row changed meanwhile goes only if it still matches.
 */
const pruneStatement = (name: string, table: string, condition: string, oldest: string): Statement => ({
  name,
  text: `DELETE FROM ${table} WHERE ${condition} AND ctid = ANY(ARRAY(
    SELECT ctid FROM ${table} WHERE ${condition} ORDER BY ${oldest} LIMIT $2))
    RETURNING 1`,
});

const olderThanRetention = `${SQL_NOW} - make_interval(days => $1::int)`;

// Attempts made before the retention (webhook_deliveries_createdAt_idx).
const PRUNE_DELIVERIES = pruneStatement('webhook-prune-deliveries', 'webhook_deliveries', `"createdAt" < ${olderThanRetention}`, '"createdAt"');

// Messages finished before the retention (webhook_messages_finished_idx); one owed (finishedAt null) never matches.
const PRUNE_MESSAGES = pruneStatement('webhook-prune-messages', 'webhook_messages', `"finishedAt" IS NOT NULL AND "finishedAt" < ${olderThanRetention}`, '"finishedAt"');

/** Runs `statement` until it deletes less than a batch, at most PRUNE_BATCHES_PER_PASS times; returns the rows deleted. */
async function pruneInBatches(db: Db, statement: Statement, retentionDays: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < PRUNE_BATCHES_PER_PASS; batch++) {
    const rows = (await runStatement(db, statement, [retentionDays, PRUNE_BATCH])).length;
    deleted += rows;
    if (rows < PRUNE_BATCH) break;
  }
  return deleted;
}

/** One pass of retention: deletes delivery attempts and finished messages older than `retentionDays`. */
export async function pruneWebhookLog(deps: { db: Db; log: Logger }, retentionDays: number): Promise<{ deliveries: number; messages: number }> {
  const deliveries = await pruneInBatches(deps.db, PRUNE_DELIVERIES, retentionDays);
  const messages = await pruneInBatches(deps.db, PRUNE_MESSAGES, retentionDays);
  if (deliveries || messages) deps.log.info('webhooks: deleted delivery attempts and finished messages past the retention', { deliveries, messages, retentionDays });
  return { deliveries, messages };
}
