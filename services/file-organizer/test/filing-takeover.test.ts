import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { createDb, poolOf, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { LocalLibraryStorage, type LibraryStorage } from '@anime/media';
import { loadGeneration, type StageResult } from '@anime/pipeline';
import { gate } from '@anime/testing';
import type { FileOutputsDeps } from '../src/jobs/file-outputs.processor';
import { startFilingHandlerFixture, type FilingHandlerFixture } from './filing-handler-fixture';

const log = createLogger('file-organizer', 'error');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** The BullMQ job as a worker sees it: first delivered, or handed over after its lock expired (stalled). */
const firstTry = (): Job => ({ attemptsMade: 0, stalledCounter: 0 }) as Job;
const takenOver = (): Job => ({ attemptsMade: 0, stalledCounter: 1 }) as Job;

/**
 * Two file-organizer instances (their own pool, handler and storage each) filing one generation at
 * once over the same PostgreSQL and library: what BullMQ does when a try's lock expires (its event
 * loop blocked past lockDuration, a GC pause) and the stalled job goes to the other instance while
 * the first try goes on. Each instance's writes and fetches are paused by gates, through the
 * handler's own seams, to interleave the two tries deterministically.
 */
describe('filing taken over by another instance (two handlers, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingHandlerFixture;
  let db: Db;
  let dbOfB: Db;

  beforeAll(async () => {
    fx = await startFilingHandlerFixture('filing-takeover', 'kai-takeover');
    db = fx.db;
    dbOfB = createDb(fx.databaseUrl, { max: 3 });
  });

  afterAll(async () => {
    await dbOfB?.$disconnect();
    // $disconnect ends the pool only when Prisma itself connected; B's statements all ran on the pool.
    if (dbOfB && !poolOf(dbOfB).ended) await poolOf(dbOfB).end();
    await fx?.close();
  });

  /** One instance's filing handler; `afterWrite` runs after each output (image and sidecar) landed, with its count so far. */
  const instance = (instanceDb: Db, options: { afterWrite?: (writes: number) => Promise<void>; fetchOutput?: FileOutputsDeps['fetchOutput'] } = {}) => {
    const storage: LibraryStorage = new LocalLibraryStorage(fx.libraryDir);
    const writeAll = storage.writeAll.bind(storage);
    let writes = 0;
    storage.writeAll = async (files) => {
      await writeAll(files);
      await options.afterWrite?.(++writes);
    };
    return fx.handler({ db: instanceDb, storage, fetchOutput: options.fetchOutput });
  };

  /** Instance A over `db`, held once it has written both images (and their sidecars), until `mayRecord` opens. */
  const heldAfterWritingAll = () => {
    const wroteAll = gate();
    const mayRecord = gate();
    const handler = instance(db, {
      afterWrite: async (writes) => {
        if (writes < 2) return;
        wroteAll.open();
        await mayRecord.opened;
      },
    });
    return { handler, wroteAll, mayRecord };
  };

  /** A generation whose prompt (two images) ran on the simulator, recorded as rendered. */
  const rendered = async (scene: string) => (await fx.rendered('takeover', scene, 2)).id;

  const generation = async (id: string) => (await loadGeneration(db, id))!;

  /** Each recorded Asset whose file is not in the library with the bytes its row names (a lost image). */
  async function missingFiles(id: string): Promise<string[]> {
    const missing: string[] = [];
    for (const asset of await db.asset.findMany({ where: { jobId: id } })) {
      const bytes = await readFile(path.join(fx.libraryDir, asset.path)).catch(() => null);
      if (!bytes || sha256(bytes) !== asset.sha256) missing.push(asset.path);
      if (!(await readFile(path.join(fx.libraryDir, `${asset.path}.json`)).catch(() => null))) missing.push(`${asset.path}.json`);
    }
    return missing;
  }

  /** Every file of the job's outputs in the library, temp files included. */
  const filesOfJob = async (id: string) => (await readdir(fx.libraryDir, { recursive: true })).filter((name) => name.includes(id)).map((name) => name.split('/').pop()!).sort();

  const settled = (run: Promise<StageResult>) => run.then((result) => ({ result }), (error: Error) => ({ error }));

  it('when a try whose job was taken over fails while the other instance files the generation, then the generation completes with every recorded image in the library', async () => {
    const id = await rendered('sc001');
    const aWroteFirst = gate();
    const bWroteAll = gate();
    const bMayRecord = gate();
    // Instance A: writes the first image, then its fetch of the second fails (the backend blipped)
    // once B has written both images and is about to record them.
    let fetchesOfA = 0;
    const a = instance(db, {
      afterWrite: async (writes) => {
        if (writes === 1) aWroteFirst.open();
      },
      fetchOutput: async (_backend, output) => {
        if (++fetchesOfA === 1) return fx.fromSimulator(output);
        await bWroteAll.opened;
        throw new Error('socket hang up');
      },
    });
    const b = instance(dbOfB, {
      afterWrite: async (writes) => {
        if (writes < 2) return;
        bWroteAll.open();
        await bMayRecord.opened;
      },
    });

    const tryA = settled(a.run(await generation(id), { job: firstTry(), log }));
    await aWroteFirst.opened;
    // A's lock expired: BullMQ hands the job to B, while A goes on.
    const tryB = settled(b.run(await generation(id), { job: takenOver(), log }));
    const endOfA = await tryA;
    bMayRecord.open();
    const endOfB = await tryB;

    expect(endOfB).toEqual({ result: expect.objectContaining({ reached: 'filed' }) });
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', stage: 'filed' });
    expect(await db.asset.count({ where: { jobId: id } })).toBe(2);
    expect(await missingFiles(id)).toEqual([]);
    // The try that lost the job neither removed what B filed nor fails the generation (it is not its filing any more).
    expect(endOfA).toEqual({ result: expect.objectContaining({ outcome: expect.stringMatching(/another try/) }) });
    const assets = await db.asset.findMany({ where: { jobId: id } });
    expect(await filesOfJob(id)).toEqual(assets.flatMap((asset) => [path.basename(asset.path), `${path.basename(asset.path)}.json`]).sort());
  });

  it('when the instance that took the filing over fails while the earlier try is about to record, then the earlier try records nothing, and the next try files the generation whole', async () => {
    const id = await rendered('sc002');
    const { handler: a, wroteAll: aWroteAll, mayRecord: aMayRecord } = heldAfterWritingAll();
    // Instance B: writes the first image, then its fetch of the second fails.
    let fetchesOfB = 0;
    const b = instance(dbOfB, {
      fetchOutput: async (_backend, output) => {
        if (++fetchesOfB === 1) return fx.fromSimulator(output);
        throw new Error('socket hang up');
      },
    });

    const tryA = settled(a.run(await generation(id), { job: firstTry(), log }));
    await aWroteAll.opened;
    const endOfB = await settled(b.run(await generation(id), { job: takenOver(), log }));
    expect(endOfB).toEqual({ error: expect.objectContaining({ message: 'socket hang up' }) });
    aMayRecord.open();
    const endOfA = await tryA;

    // Whatever A did, a generation never completes with a recorded image missing from the library.
    const afterBoth = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect({ status: afterBoth.status, missing: await missingFiles(id) }).toEqual({ status: 'running', missing: [] });
    expect(endOfA).toEqual({ result: expect.objectContaining({ outcome: expect.stringMatching(/another try/) }) });

    // B's job is retried by BullMQ: that try files both images.
    const retried = { job: { attemptsMade: 1, stalledCounter: 1 } as Job, log };
    expect((await instance(dbOfB).run(await generation(id), retried)).reached).toBe('filed');
    expect(await db.asset.count({ where: { jobId: id } })).toBe(2);
    expect(await missingFiles(id)).toEqual([]);
    const assets = await db.asset.findMany({ where: { jobId: id } });
    expect(await filesOfJob(id)).toEqual(assets.flatMap((asset) => [path.basename(asset.path), `${path.basename(asset.path)}.json`]).sort());
  });
  it('when the instance that took the filing over fails before writing anything, then it removes what the earlier try wrote, and the earlier try records nothing', async () => {
    const id = await rendered('sc003');
    const { handler: a, wroteAll: aWroteAll, mayRecord: aMayRecord } = heldAfterWritingAll();
    const b = instance(dbOfB, {
      fetchOutput: async () => {
        throw new Error('socket hang up');
      },
    });

    const tryA = settled(a.run(await generation(id), { job: firstTry(), log }));
    await aWroteAll.opened;
    expect(await settled(b.run(await generation(id), { job: takenOver(), log }))).toEqual({ error: expect.objectContaining({ message: 'socket hang up' }) });
    aMayRecord.open();
    expect(await tryA).toEqual({ result: expect.objectContaining({ outcome: expect.stringMatching(/another try/) }) });

    // Should B's failure be the last try, the generation fails with no file of it left behind.
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'running', stage: 'rendered' });
    expect(await db.asset.count({ where: { jobId: id } })).toBe(0);
    expect(await filesOfJob(id)).toEqual([]);
  });
});
