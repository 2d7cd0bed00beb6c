import type { JobStage, JobStatus } from '@anime/contracts';
import { poolOf, type Db, type Statement } from '@anime/db';

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
  /** Clears the filing's claim, in the hold: an ended generation's filing is settled, and the recovery sweep leaves it alone. */
  releaseClaim(): Promise<void>;
}

const LOCK: Statement = {
  name: 'filing-hold.lock',
  text: `SELECT status, stage, "filingToken" IS NOT DISTINCT FROM $2::uuid AS owner FROM generation_jobs WHERE id = $1::uuid FOR UPDATE`,
};
const RECORDED: Statement = { name: 'filing-hold.recorded', text: `SELECT path FROM assets WHERE "jobId" = $1::uuid` };
const FORGET: Statement = { name: 'filing-hold.forget-assets', text: `DELETE FROM assets WHERE "jobId" = $1::uuid` };
const RELEASE: Statement = { name: 'filing-hold.release-claim', text: `UPDATE generation_jobs SET "filingToken" = NULL WHERE id = $1::uuid` };

/**
 * Runs `work` (removing library files) with the generation's row locked, in a transaction: no claim
 * of the filing by another try, no Asset recorded, no transition (a filing completing, a retry
 * re-opening it) can land between what `work` is told and what it removes. A decision on a read row
 * could: a try that read "no Asset records this path" would remove the file that another try, having
 * just claimed the filing, wrote and then records. Null, without running `work`, when the generation
 * is gone.
 */
export async function holdFiling<T>(db: Db, id: string, token: string | null, work: (held: HeldFiling) => Promise<T>): Promise<T | null> {
  const client = await poolOf(db).connect();
  let reusable = false;
  try {
    await client.query('BEGIN');
    const [row] = (await client.query<{ status: JobStatus; stage: JobStage; owner: boolean }>({ ...LOCK, values: [id, token] })).rows;
    let result: T | null = null;
    if (row) {
      // After the lock, in a statement of its own: its snapshot sees what a filing we waited for recorded.
      const recorded = new Set((await client.query<{ path: string }>({ ...RECORDED, values: [id] })).rows.map((r) => r.path));
      const forgetAssets = async () => void (await client.query({ ...FORGET, values: [id] }));
      const releaseClaim = async () => void (await client.query({ ...RELEASE, values: [id] }));
      result = await work({ ...row, recorded, forgetAssets, releaseClaim });
    }
    await client.query('COMMIT');
    reusable = true;
    return result;
  } catch (error) {
    reusable = await client.query('ROLLBACK').then(() => true, () => false);
    throw error;
  } finally {
    // A connection whose transaction could not be ended is not handed out again.
    client.release(!reusable);
  }
}
