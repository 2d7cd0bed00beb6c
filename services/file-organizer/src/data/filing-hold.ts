import type { JobStage, JobStatus } from '@anime/contracts';
import { poolOf, type Db, type Statement } from '@anime/db';
import { filingFenceKey } from '@anime/pipeline';

/** A generation's row as a filing try holds it locked. */
export interface HeldFiling {
  status: JobStatus;
  stage: JobStage;
  /** The try holding it owns the filing: its claim is the last one (no token: no claim was made). */
  owner: boolean;
  /** The paths the job's Asset rows record, read once the row was locked. */
  recorded: Set<string>;
  /** Deletes the job's Asset rows, in the hold. */
  forgetAssets(): Promise<void>;
  /** Takes the filing's claim for `token`, in the hold: a try that claimed it before records nothing from then on. */
  takeClaim(token: string): Promise<void>;
  /** Clears the filing's claim, in the hold: an ended generation's filing is settled, and the recovery sweep leaves it alone. */
  releaseClaim(): Promise<void>;
}

/** Runs `work` as holdFiling does, on the connection of the fence it is called in (fenceFiling). */
export type HoldInFence = <T>(token: string | null, work: (held: HeldFiling) => Promise<T>) => Promise<T | null>;

/** What fenceFiling's work is given: the row's hold, and a signal aborted once the fence is lost (its connection gone). */
export interface Fenced {
  hold: HoldInFence;
  lost: AbortSignal;
  /**
   * Keeps the fence, once `work` settled, until `step` settles too: a removal the library did not
   * answer within its bound, which the kernel still carries out once the volume answers, by name.
   * Let go before, a try could claim the filing and write the path, and the late unlink remove its file.
   */
  keepUntil(step: Promise<void>): void;
}

const LOCK: Statement = {
  name: 'filing-hold.lock',
  text: `SELECT status, stage, "filingToken" IS NOT DISTINCT FROM $2::uuid AS owner FROM generation_jobs WHERE id = $1::uuid FOR UPDATE`,
};
const RECORDED: Statement = { name: 'filing-hold.recorded', text: `SELECT path FROM assets WHERE "jobId" = $1::uuid` };
const FORGET: Statement = { name: 'filing-hold.forget-assets', text: `DELETE FROM assets WHERE "jobId" = $1::uuid` };
const CLAIM: Statement = { name: 'filing-hold.take-claim', text: `UPDATE generation_jobs SET "filingToken" = $2::uuid WHERE id = $1::uuid` };
const RELEASE: Statement = { name: 'filing-hold.release-claim', text: `UPDATE generation_jobs SET "filingToken" = NULL WHERE id = $1::uuid` };
/** Waits (at most lock_timeout: 55P03, the database unavailable) while another removal of the generation's files holds the fence. */
const FENCE: Statement = { name: 'filing-hold.fence', text: `SELECT pg_advisory_lock(${filingFenceKey('$1')})` };
const UNFENCE: Statement = { name: 'filing-hold.unfence', text: `SELECT pg_advisory_unlock(${filingFenceKey('$1')})` };

const connect = (db: Db) => poolOf(db).connect();
type PoolClient = Awaited<ReturnType<typeof connect>>;

/** Connections whose transaction could not be ended: never handed out again. */
const broken = new WeakSet<PoolClient>();

/**
 * Runs `work` with the generation's row locked, in a transaction: no claim of the filing by another
 * try, no Asset recorded, no transition (a filing completing, a retry re-opening it) can land
 * between what `work` is told and what it does. A decision on a read row could: a try that read
 * "no Asset records this path" would remove the file that another try, having just claimed the
 * filing, wrote and then records. Null, without running `work`, when the generation is gone.
 *
 * `work` is short (statements, a decision): a retry or a cancel of the generation waits for the row
 * meanwhile. Library files are removed outside it, in the filing's fence (fenceFiling).
 */
export async function holdFiling<T>(db: Db, id: string, token: string | null, work: (held: HeldFiling) => Promise<T>): Promise<T | null> {
  const client = await connect(db);
  try {
    return await holdOn(client, id, token, work);
  } finally {
    client.release(broken.has(client));
  }
}

/**
 * Runs `work` with the generation's filing fenced (filingFenceKey): from the fence taken until
 * `work` settles, no filing try claims the generation (a try refused waits, its tries untouched),
 * so none writes a path that `work` may be removing, while its row stays free for a retry or a
 * cancel. `hold` locks the row, as holdFiling does, for the decisions around the removal. The
 * fence is the session's, on one connection: a process that dies lets it go with its connection,
 * and a connection lost under a live process aborts `lost`, for `work` to stop removing.
 */
export async function fenceFiling<T>(db: Db, id: string, work: (fenced: Fenced) => Promise<T>): Promise<T> {
  const client = await connect(db);
  try {
    await client.query({ ...FENCE, values: [id] });
  } catch (error) {
    client.release(true);
    throw error;
  }
  // The connection gone (PostgreSQL restarted, the session ended): so is the fence, and a try may claim the filing now.
  const lost = new AbortController();
  const onLost = () => lost.abort(new Error(`the filing fence of generation ${id} was lost with its connection`));
  client.on('error', onLost);
  client.on('end', onLost);
  const kept: Promise<void>[] = [];
  const letGo = async () => {
    client.off('error', onLost);
    client.off('end', onLost);
    // Not let go (the connection failed under it): the connection is closed, and the fence with it.
    await client.query({ ...UNFENCE, values: [id] }).catch(() => broken.add(client));
    client.release(broken.has(client));
  };
  try {
    return await work({ hold: (token, held) => holdOn(client, id, token, held), lost: lost.signal, keepUntil: (step) => void kept.push(step) });
  } finally {
    // Steps left behind: `work` is over (its worker slot free), the fence (and its connection) kept until they land.
    if (kept.length) void Promise.all(kept).then(letGo);
    else await letGo();
  }
}

async function holdOn<T>(client: PoolClient, id: string, token: string | null, work: (held: HeldFiling) => Promise<T>): Promise<T | null> {
  try {
    await client.query('BEGIN');
    const [row] = (await client.query<{ status: JobStatus; stage: JobStage; owner: boolean }>({ ...LOCK, values: [id, token] })).rows;
    let result: T | null = null;
    if (row) {
      // After the lock, in a statement of its own: its snapshot sees what a filing we waited for recorded.
      const recorded = new Set((await client.query<{ path: string }>({ ...RECORDED, values: [id] })).rows.map((r) => r.path));
      const forgetAssets = async () => void (await client.query({ ...FORGET, values: [id] }));
      const takeClaim = async (claim: string) => void (await client.query({ ...CLAIM, values: [id, claim] }));
      const releaseClaim = async () => void (await client.query({ ...RELEASE, values: [id] }));
      result = await work({ ...row, recorded, forgetAssets, takeClaim, releaseClaim });
    }
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => broken.add(client));
    throw error;
  }
}
