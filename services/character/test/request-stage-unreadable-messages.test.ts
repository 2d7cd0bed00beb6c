import type { Queue } from 'bullmq';
import { PIPELINE_CATALOG } from '@anime/contracts';
import type { Db } from '@anime/db';
import { waitFor } from '@anime/testing';
import { startRequestStage, type RequestStage } from './start-request-stage';

/**
 * Messages a plain Queue.add cannot make, written by other systems straight into the job's hash (a
 * producer's Redis user may HSET its queue's keys; another language's JSON library may write NaN):
 * each is refused once, unretried, naming why, and the messages after it go on.
 */
describe('request stage: messages BullMQ cannot read as they are', () => {
  let stage: RequestStage;
  let db: Db;
  let requests: Queue;
  let redis: RequestStage['redis'];
  let queuePrefix: string;
  const entry = PIPELINE_CATALOG.generationRequests;

  beforeAll(async () => {
    stage = await startRequestStage('unreadable-messages', [['kai-nakamura', 'Kai Nakamura', 'kainakamura']]);
    ({ db, requests, redis, queuePrefix } = stage);
  });

  afterAll(() => stage?.stop());

  const message = (requestId: string) => ({ schemaVersion: 1, character: 'kai-nakamura', prompt: 'on a rooftop', source: 'raw', requestId });

  /** Adds a job whose stored data is `text`, as written into its hash by another system (delayed meanwhile, then promoted). */
  async function addRaw(requestId: string, text: string): Promise<string> {
    const job = await requests.add(entry.jobName, message(requestId), { jobId: `raw-${requestId}`, delay: 60_000, attempts: 5, backoff: { type: 'fixed', delay: 50 } });
    await redis.hset(`${queuePrefix}:${entry.name}:${job.id}`, 'data', text);
    // Job.promote would read the data back: the delayed set is moved by hand as its script does.
    await redis.zrem(`${queuePrefix}:${entry.name}:delayed`, job.id!);
    await redis.rpush(`${queuePrefix}:${entry.name}:wait`, job.id!);
    await redis.zadd(`${queuePrefix}:${entry.name}:marker`, 0, '0');
    return job.id!;
  }

  /** Each job's end read straight from its hash (BullMQ's getJob would parse the data, which may not be JSON). */
  const settled = (ids: string[], timeoutMs = 20_000) =>
    waitFor(async () => {
      const ends = await Promise.all(
        ids.map(async (id) => {
          const [failed, completed] = await Promise.all([redis.zscore(`${queuePrefix}:${entry.name}:failed`, id), redis.zscore(`${queuePrefix}:${entry.name}:completed`, id)]);
          if (failed === null && completed === null) return null;
          const hash = await redis.hgetall(`${queuePrefix}:${entry.name}:${id}`);
          return { state: failed !== null ? 'failed' : 'completed', attemptsMade: Number(hash.atm ?? 0), failedReason: hash.failedReason ?? '' };
        }),
      );
      return ends.every(Boolean) ? ends : null;
    }, 'the jobs to settle', timeoutMs);

  it('when a message is not JSON (cut short, or NaN as another JSON library writes it), then it fails once naming it, rather than being fetched and put back for ever', async () => {
    const cut = await addRaw('cut', JSON.stringify(message('cut')).slice(0, 40));
    const nan = await addRaw('nan', JSON.stringify({ ...message('nan'), seed: 1 }).replace('"seed":1', '"seed":NaN'));
    const after = (await requests.add(entry.jobName, message('after-unreadable'))).id!;
    const ends = await settled([cut, nan, after]);
    expect(ends.map((end) => [end!.state, end!.attemptsMade])).toEqual([['failed', 1], ['failed', 1], ['completed', 1]]);
    for (const end of ends.slice(0, 2)) expect(end!.failedReason).toMatch(/^invalid generation-requests payload: not JSON \(.+\)$/);
    expect(await db.generationJob.count({ where: { source: 'raw', requestId: { in: ['cut', 'nan'] } } })).toBe(0);
    // Kept readable while the failed job is kept: the text it held, as a string (the queue board reads failed jobs as BullMQ does).
    expect((await requests.getJob(cut))!.data).toBe(JSON.stringify(message('cut')).slice(0, 40));
    expect((await requests.getJobs(['failed'])).map((job) => job.id)).toEqual(expect.arrayContaining([cut, nan]));
  });

  it('when a message nests arrays 20,000 deep (within the size limit), then it fails once naming the depth, not a retried stack overflow', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const id = await addRaw('deep', JSON.stringify(message('deep')).replace('"prompt"', `"params":{"a":${deep}},"prompt"`));
    const [end] = await settled([id]);
    expect(end).toEqual({ state: 'failed', attemptsMade: 1, failedReason: 'invalid generation-requests payload: nested deeper than 64 levels' });
    // Not kept as it was: serializing it again (the queue board) would overflow the stack as long as the failed job is kept.
    expect((await requests.getJob(id))!.data).toBe('(not kept: nested deeper than 64 levels)');
    const failed = await requests.getJobs(['failed']);
    expect(() => JSON.stringify(failed.map((job) => job.data))).not.toThrow();
  });

  it('when a valid message comes under another job name, then it is taken as any message of this queue: the queue, not the name, says what it is (the contract names none)', async () => {
    const job = await requests.add('generate', message('other-name'), { attempts: 5 });
    const [end] = await settled([job.id!]);
    expect(end).toMatchObject({ state: 'completed' });
    expect(await db.generationJob.count({ where: { source: 'raw', requestId: 'other-name' } })).toBe(1);
  });
});
