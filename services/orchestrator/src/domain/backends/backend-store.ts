import { readRows, runStatement, type Db, type Statement } from '@anime/db';
import type { BackendCapabilities } from './capabilities';

const DRAINING: Statement = { name: 'backends.draining', text: 'SELECT id FROM backends WHERE draining' };

/** $1 backend ids, $2 finished jobs to add to each: every backend's count in one statement. */
const COUNT_DONE: Statement = {
  name: 'backends.count-done',
  text: `UPDATE backends b SET "jobsDone" = b."jobsDone" + c.done, "updatedAt" = timezone('UTC', now())
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
        },
      ]),
    );
  }

  async save(record: BackendRecord): Promise<void> {
    const caps = record.capabilities;
    const data = {
      url: record.url,
      state: record.up ? 'up' : 'down',
      busy: record.inFlight > 0 || record.queueDepth > 0,
      inFlight: record.inFlight,
      queueDepth: record.queueDepth,
      lastCheckpoint: record.lastCheckpoint,
      lastError: record.lastError,
      lastSeenAt: record.lastSeenAt,
      ...(caps ? { checkpoints: caps.checkpoints, loras: caps.loras, nodeClasses: caps.nodeClasses, ipAdapter: caps.ipAdapter, capabilitiesAt: record.capabilitiesAt } : {}),
    };
    await this.db.backend.upsert({ where: { id: record.id }, create: { id: record.id, ...data }, update: data });
  }

  /** Ids of backends the gateway marked draining. A named statement: it is asked before every placement. */
  async draining(): Promise<Set<string>> {
    const rows = await readRows<{ id: string }>(this.db, DRAINING, []);
    return new Set(rows.map((r) => r.id));
  }

  /** Adds each backend's finished jobs to its counter, in one statement. */
  async countDone(counts: [id: string, count: number][]): Promise<void> {
    if (!counts.length) return;
    await runStatement(this.db, COUNT_DONE, [counts.map(([id]) => id), counts.map(([, count]) => count)]);
  }
}
