import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Job } from 'bullmq';
import { createDb, poolOf, type Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { FilingFencedError, JobLifecycle, sweepStage, type CreatedJob } from '@anime/pipeline';
import { fileExists, gate, waitFor } from '@anime/testing';
import { startFilingFixture, type FilingFixture } from './start-filing-fixture';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The gateway's statements wait for a row lock this long here (lockTimeoutOf(2 s)); 9 s in production, against a removal's 30 s bound. */
const GATEWAY_QUERY_TIMEOUT_MS = 2_000;
/** Well under the gateway's lock wait: a retry that waited for the row would not answer within it. */
const PROMPT_MS = 1_000;

/**
 * A canceled generation's files are removed (its filing job's admission: removeUnfiled) while the
 * library hangs: on a hung NFS or FUSE mount each removal waits out its bound (30 s in production);
 * here each removal is held until the test lets it go. Before, the removal held the generation's
 * row locked all the while: a retry of the generation (the gateway's UPDATE) waited for the row past
 * its lock_timeout and was answered 503 database_unavailable, for as long as the mount hung.
 */
describe('a canceled generation\'s files removed while the library hangs (file-organizer in-process, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingFixture;
  /** The gateway's connection: its lock_timeout is what a retry waits for the row at most. */
  let gatewayDb: Db;
  let gateway: JobLifecycle;

  beforeAll(async () => {
    fx = await startFilingFixture('uf-unfile-hung');
    gatewayDb = createDb(fx.databaseUrl, { max: 2, queryTimeoutMs: GATEWAY_QUERY_TIMEOUT_MS });
    gateway = new JobLifecycle(gatewayDb);
  }, 60_000);

  afterAll(async () => {
    // Its statements ran on the pool alone, which Prisma's $disconnect leaves open then.
    if (gatewayDb) await poolOf(gatewayDb).end();
    await fx?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  const generation = (id: string) => fx.generation(id);
  const filingJob = (id: string) => Job.fromId(fx.service.ctx.queues.byKey.assetFiling, `filing-${id}`);

  /** A rendered generation as a killed filing try leaves it (claimed, its image and sidecar written, nothing recorded), then canceled. */
  async function canceledAfterKilledFiling(): Promise<{ job: CreatedJob; file: string; killedToken: string }> {
    const killedToken = randomUUID();
    const { job, file } = await fx.writtenByKilledTry(killedToken);
    expect(await fx.lifecycle.cancelAtOnce(job.id)).not.toBeNull();
    return { job, file, killedToken };
  }

  /** Every library removal waits until `let go` (then removes, or with `failing`, fails as a process killed meanwhile never removes). */
  function hungRemovals() {
    const original = LocalLibraryStorage.prototype.remove;
    const mount = gate();
    let failing = false;
    const calls: string[] = [];
    jest.spyOn(LocalLibraryStorage.prototype, 'remove').mockImplementation(async function (this: LocalLibraryStorage, relativePath: string) {
      calls.push(relativePath);
      await mount.opened;
      if (failing) throw new Error('the removing process is gone');
      return original.call(this, relativePath);
    });
    return {
      calls,
      letGo: ({ fail = false } = {}) => {
        failing = fail;
        mount.open();
      },
    };
  }

  /** The retry's UPDATE, as the gateway runs it, and how long it took. */
  async function retryAsGateway(id: string): Promise<{ ms: number; retried: boolean }> {
    const began = Date.now();
    const retried = await gateway.retry(id, { reason: 'retry requested over the API' });
    return { ms: Date.now() - began, retried: retried !== null };
  }

  async function filedOnce(id: string) {
    const row = await fx.completed(id, 30_000);
    expect(row).toMatchObject({ stage: 'filed', errorCode: null });
    expect(row.assets).toHaveLength(1);
    const [asset] = row.assets;
    // Its file is there, whole: no removal of the canceled filing came after the retry's write.
    expect(sha256(await readFile(path.join(fx.libraryDir, asset.path)))).toBe(asset.sha256);
    expect(await fileExists(path.join(fx.libraryDir, `${asset.path}.json`))).toBe(true);
    return row;
  }

  it('when it is retried while a removal hangs, then the retry answers at once (not 503 once its lock wait ran out), no filing claims it until the removal let go, and the job that removed files it once, its files kept', async () => {
    const { job, file, killedToken } = await canceledAfterKilledFiling();
    const mount = hungRemovals();
    await fx.enqueue(job);
    await waitFor(() => mount.calls.length > 0, 'the removal to hang on the library');

    // Before: the UPDATE waited for the row the removal held, and ran out of lock_timeout (55P03, 503 database_unavailable).
    const retry = await retryAsGateway(job.id);
    expect(retry).toEqual({ ms: expect.any(Number), retried: true });
    expect(retry.ms).toBeLessThan(PROMPT_MS);
    // The killed try records nothing any more: the removal took the claim.
    expect((await generation(job.id)).filingToken).not.toBe(killedToken);
    // No try writes the paths the removal may still delete: a claim is refused while it goes on.
    await expect(fx.lifecycle.claimFiling(job.id, randomUUID())).rejects.toBeInstanceOf(FilingFencedError);
    // The gateway's hand-off: its filing job is the one removing (active): none is added.
    await fx.enqueue(job, { replaceFinished: true });
    expect(await generation(job.id)).toMatchObject({ status: 'running', stage: 'rendered', assets: [] });

    mount.letGo();
    const row = await filedOnce(job.id);
    expect(path.join(fx.libraryDir, row.assets[0].path)).toBe(file);
    // Deferred to run again, not failed: its tries untouched.
    const finished = (await filingJob(job.id))!;
    expect(await finished.getState()).toBe('completed');
    expect({ stacktrace: finished.stacktrace, failedReason: finished.failedReason }).toEqual({ stacktrace: [], failedReason: undefined });
  }, 60_000);

  /** The sessions holding a filing fence in the test's database, ended as a killed process's are. */
  const endFenceSessions = () =>
    fx.db.$queryRaw<{ ended: boolean }[]>`SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
      WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

  it('when the removal\'s session ends mid-removal (a process killed, a connection lost), then the fence goes with it: a retry claims at once, the removal stops, and the generation is filed once', async () => {
    const { job, killedToken } = await canceledAfterKilledFiling();
    const mount = hungRemovals();
    await fx.enqueue(job);
    await waitFor(() => mount.calls.length > 0, 'the removal to hang on the library');
    expect(await endFenceSessions()).toEqual([{ ended: true }]);
    // Left as a crash between its steps leaves it: canceled, claimed by the removal, nothing forgotten.
    const left = await generation(job.id);
    expect(left).toMatchObject({ status: 'canceled', stage: 'rendered' });
    expect(left.filingToken).not.toBeNull();
    expect(left.filingToken).not.toBe(killedToken);

    expect((await retryAsGateway(job.id)).retried).toBe(true);
    expect(await fx.lifecycle.claimFiling(job.id, randomUUID())).toBe(true);
    await sleep(200);
    // The removal under way when its fence went ends; none after it (a killed process makes none at all).
    mount.letGo();
    await filedOnce(job.id);
    expect(mount.calls).toHaveLength(1);
  }, 60_000);

  /** As the recovery sweep finds it once the grace has passed. */
  const untouchedForAMinute = (id: string) => fx.db.$executeRaw`UPDATE generation_jobs SET "updatedAt" = now() - interval '1 minute' WHERE id = ${id}::uuid`;

  it('when the process removing the files dies mid-removal and its queue job is lost, then the recovery sweep has the removal done again, once', async () => {
    const { job, file } = await canceledAfterKilledFiling();
    const mount = hungRemovals();
    await fx.enqueue(job);
    await waitFor(() => mount.calls.length > 0, 'the removal to hang on the library');
    expect(await endFenceSessions()).toEqual([{ ended: true }]);
    mount.letGo({ fail: true });
    // Redis lost its job (restarted empty) once its try ended.
    await waitFor(async () => (await (await filingJob(job.id))?.getState()) !== 'active', 'the dead removal\'s try to end');
    await (await filingJob(job.id))?.remove();
    jest.restoreAllMocks();
    expect(await fileExists(file)).toBe(true);

    await untouchedForAMinute(job.id);
    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling')).toBe(1);
    await waitFor(async () => (await generation(job.id)).filingToken === null, 'the removal done again, its claim cleared', 10_000);
    expect(await fileExists(file)).toBe(false);
    expect(await fileExists(`${file}.json`)).toBe(false);
    expect(await generation(job.id)).toMatchObject({ status: 'canceled', stage: 'rendered', assets: [] });
    await untouchedForAMinute(job.id);
    await sleep(100);
    expect(await sweepStage(fx.db, fx.service.ctx.queues, 'assetFiling')).toBe(0);
  }, 60_000);
});
