import { readRows, runStatement, SQL_NOW, type Db, type Statement } from '@anime/db';
import type { BackendCapabilities } from './capabilities';

const FLAGS: Statement = { name: 'backends.flags', text: 'SELECT id, draining, "stuckPromptId", "stuckSince" FROM backends WHERE draining OR "stuckPromptId" IS NOT NULL' };

const UTC = (param: string) => `(${param}::timestamptz AT TIME ZONE 'UTC')`;

/**
 * $1 id, $2 prompt id, $3 since (ISO), $4 the prompt it replaces (or null): recorded unless another
 * stuck prompt than $4 is already. The time is the one the finding process tells in its lastError, so
 * every orchestrator that reads the row tells the same.
 */
const MARK_STUCK: Statement = {
  name: 'backends.mark-stuck',
  text: `UPDATE backends SET "stuckPromptId" = $2, "stuckSince" = ${UTC('$3')}, "updatedAt" = ${SQL_NOW} WHERE id = $1 AND ("stuckPromptId" IS NULL OR "stuckPromptId" = $4::text)`,
};

/** $1 id, $2 prompt id: cleared only for that prompt (a later one recorded meanwhile stays). */
const CLEAR_STUCK: Statement = {
  name: 'backends.clear-stuck',
  text: `UPDATE backends SET "stuckPromptId" = NULL, "stuckSince" = NULL, "updatedAt" = ${SQL_NOW} WHERE id = $1 AND "stuckPromptId" = $2`,
};

/** What the orchestrators read of every backend at each probe tick: drain flags (the gateway's) and stuck prompts (theirs). */
export interface BackendFlags {
  draining: Set<string>;
  /** Backend id → the prompt its worker is stuck on, and since when (as the orchestrator that found it recorded). */
  stuck: Map<string, { promptId: string; since: Date }>;
}

/**
 * $1 id, $2 url, $3 state, $4 busy, $5 inFlight, $6 queueDepth, $7 lastCheckpoint, $8 lastError,
 * $9 lastSeenAt (ISO), $10 whether capabilities are given, $11-$14 checkpoints, loras, nodeClasses,
 * ipAdapter, $15 capabilitiesAt (ISO). What Prisma's upsert wrote, as a named statement: the probes
 * write it every few seconds while the load changes.
 */
const SAVE: Statement = {
  name: 'backends.save',
  text: `INSERT INTO backends (id, url, state, busy, "inFlight", "queueDepth", "lastCheckpoint", "lastError", "lastSeenAt", checkpoints, loras, "nodeClasses", "ipAdapter", "capabilitiesAt", "updatedAt")
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${UTC('$9')}, COALESCE($11::jsonb, '[]'), COALESCE($12::jsonb, '[]'), COALESCE($13::jsonb, '[]'), COALESCE($14::boolean, false), ${UTC('$15')}, ${SQL_NOW})
ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, state = EXCLUDED.state, busy = EXCLUDED.busy, "inFlight" = EXCLUDED."inFlight", "queueDepth" = EXCLUDED."queueDepth",
  "lastCheckpoint" = EXCLUDED."lastCheckpoint", "lastError" = EXCLUDED."lastError", "lastSeenAt" = EXCLUDED."lastSeenAt",
  checkpoints = CASE WHEN $10::boolean THEN EXCLUDED.checkpoints ELSE backends.checkpoints END,
  loras = CASE WHEN $10::boolean THEN EXCLUDED.loras ELSE backends.loras END,
  "nodeClasses" = CASE WHEN $10::boolean THEN EXCLUDED."nodeClasses" ELSE backends."nodeClasses" END,
  "ipAdapter" = CASE WHEN $10::boolean THEN EXCLUDED."ipAdapter" ELSE backends."ipAdapter" END,
  "capabilitiesAt" = CASE WHEN $10::boolean THEN EXCLUDED."capabilitiesAt" ELSE backends."capabilitiesAt" END,
  "updatedAt" = ${SQL_NOW}`,
};

/** $1 backend ids, $2 finished jobs to add to each: every backend's count in one statement. */
const COUNT_DONE: Statement = {
  name: 'backends.count-done',
  text: `UPDATE backends b SET "jobsDone" = b."jobsDone" + c.done, "updatedAt" = ${SQL_NOW}
FROM unnest($1::text[], $2::int[]) AS c(id, done) WHERE b.id = c.id`,
};

/** What the orchestrator keeps about a backend in the `backends` table. */
export interface BackendRecord {
  id: string;
  url: string;
  up: boolean;
  capabilities: BackendCapabilities | null;
  capabilitiesAt: Date | null;
  inFlight: number;
  queueDepth: number;
  lastCheckpoint: string | null;
  lastError: string | null;
  lastSeenAt: Date | null;
}

const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);

/**
 * The `backends` table as the orchestrator uses it: it writes health, capabilities and counters,
 * and reads the drain flag the gateway writes. Capabilities stored by an earlier run let routing
 * judge a backend that is down right now.
 */
export class BackendStore {
  constructor(private readonly db: Db) {}

  /** Rows of the configured backends; rows of backends no longer configured are removed. */
  async load(ids: string[]) {
    await this.db.backend.deleteMany({ where: { id: { notIn: ids } } });
    const rows = await this.db.backend.findMany({ where: { id: { in: ids } } });
    return new Map(
      rows.map((row) => [
        row.id,
        {
          capabilities: row.capabilitiesAt ? { checkpoints: strings(row.checkpoints), loras: strings(row.loras), nodeClasses: strings(row.nodeClasses), ipAdapter: row.ipAdapter } : null,
          capabilitiesAt: row.capabilitiesAt,
          lastCheckpoint: row.lastCheckpoint,
          draining: row.draining,
          stuck: row.stuckPromptId ? { promptId: row.stuckPromptId, since: row.stuckSince ?? new Date() } : null,
        },
      ]),
    );
  }

  /** Writes the backend's row; stored capabilities are kept while none are known. */
  async save(record: BackendRecord): Promise<void> {
    const caps = record.capabilities;
    const json = (value: string[] | undefined) => (value ? JSON.stringify(value) : null);
    await runStatement(this.db, SAVE, [
      record.id,
      record.url,
      record.up ? 'up' : 'down',
      record.inFlight > 0 || record.queueDepth > 0,
      record.inFlight,
      record.queueDepth,
      record.lastCheckpoint,
      record.lastError,
      record.lastSeenAt?.toISOString() ?? null,
      !!caps,
      json(caps?.checkpoints),
      json(caps?.loras),
      json(caps?.nodeClasses),
      caps ? caps.ipAdapter : null,
      caps ? (record.capabilitiesAt?.toISOString() ?? null) : null,
    ]);
  }

  /**
   * Backends the gateway marked draining, and those an orchestrator found stuck (read at each probe
   * tick, on a backend-changes notice, and after a refused submit).
   */
  async flags(): Promise<BackendFlags> {
    const rows = await readRows<{ id: string; draining: boolean; stuckPromptId: string | null; stuckSince: Date | null }>(this.db, FLAGS, []);
    return {
      draining: new Set(rows.filter((r) => r.draining).map((r) => r.id)),
      // A row without its time (none is written so) is taken as stuck from now, as load() takes it.
      stuck: new Map(rows.flatMap((r) => (r.stuckPromptId ? [[r.id, { promptId: r.stuckPromptId, since: r.stuckSince ?? new Date() }] as const] : []))),
    };
  }

  /**
   * Records the prompt the backend's worker is stuck on, and since when, for the other orchestrators
   * to read; `replacing`: the prompt it was recorded stuck on before, which ComfyUI let go of (a second hang).
   */
  async markStuck(id: string, promptId: string, since: Date, replacing?: string): Promise<void> {
    await runStatement(this.db, MARK_STUCK, [id, promptId, since.toISOString(), replacing ?? null]);
  }

  /** Clears it once ComfyUI no longer runs that prompt. */
  async clearStuck(id: string, promptId: string): Promise<void> {
    await runStatement(this.db, CLEAR_STUCK, [id, promptId]);
  }

  /** Adds each backend's finished jobs to its counter, in one statement. */
  async countDone(counts: [id: string, count: number][]): Promise<void> {
    if (!counts.length) return;
    await runStatement(this.db, COUNT_DONE, [counts.map(([id]) => id), counts.map(([, count]) => count)]);
  }
}
