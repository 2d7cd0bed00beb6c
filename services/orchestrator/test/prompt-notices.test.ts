import type { ProgressEvent } from '@anime/comfyui-client';
import { databaseStatements, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import type { JobEventPublisher, JobLifecycle } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { PROGRESS_STORE_INTERVAL_MS, PromptNotices } from '../src/jobs/prompt-notices';
import { startNoticesFixture, type NoticesFixture } from './notices-fixture';
import type { PublishedEvent } from './job-events-listener';

describe('PromptNotices (started and progress of one prompt, recorded in order)', () => {
  let fx: NoticesFixture;
  let db: Db;
  let lifecycle: JobLifecycle;
  let events: JobEventPublisher;
  let log: Logger;
  let published: PublishedEvent[];

  beforeAll(async () => {
    fx = await startNoticesFixture('prompt-notices');
    ({ db, lifecycle, events, log, published } = fx);
  });

  afterAll(async () => {
    await fx?.close();
  });

  const submitted = async (promptId: string) => (await fx.recordedAttempt(promptId)).id;
  // The started notice goes out alone when no tick comes within its turn: recorded one PostgreSQL round trip
  // later, which a fixed pause may not cover on a loaded machine (nor the opening of a pooled connection).
  const startedRecorded = (id: string) => waitFor(async () => (await db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt, 'the started notice to be recorded', 10_000, 10);
  const publishedFor = (id: string, count: number) => waitFor(() => (published.filter((e) => e.jobId === id).length >= count ? published.filter((e) => e.jobId === id) : null), `${count} events of ${id}`);

  it('when the first tick comes with the started notice, then both are one statement, published job:started then job:progress', async () => {
    const id = await submitted('fast');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'fast');
    const before = databaseStatements();
    notices.started();
    await notices.progress({ value: 1, max: 1, node: '3' });
    await notices.settled();
    expect(databaseStatements() - before).toBe(1);
    expect((await publishedFor(id, 2)).map((e) => [e.name, e.seq])).toEqual([['job:started', 3], ['job:progress', 4]]);
    expect((await db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt).not.toBeNull();
  });

  it('when the first tick comes later, then the started notice is recorded alone first, and ticks follow in order', async () => {
    const id = await submitted('slow');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'slow');
    notices.started();
    await startedRecorded(id);
    await notices.progress({ value: 1, max: 2, node: '3' });
    await notices.progress({ value: 2, max: 2, node: '3' });
    await notices.settled();
    expect((await publishedFor(id, 3)).map((e) => [e.name, e.seq])).toEqual([['job:started', 3], ['job:progress', 4], ['job:progress', 5]]);
  });

  it('when the prompt ends with no tick, then settled() waits for the started notice to be recorded', async () => {
    const id = await submitted('cached');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'cached');
    notices.started();
    await notices.settled();
    expect((await db.generationJob.findUniqueOrThrow({ where: { id } })).eventSeq).toBe(3);
  });

  it('when ticks follow the first, then they go out under the seqs its statement reserved, with no statement each, and settled() stores the latest; the next event comes after them', async () => {
    const id = await submitted('steps');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'steps');
    notices.started();
    await notices.progress({ value: 1, max: 5, node: '3' });
    const before = databaseStatements();
    for (let value = 2; value <= 5; value++) await notices.progress({ value, max: 5, node: '3' });
    expect(databaseStatements() - before).toBe(0);
    await notices.settled();
    expect(databaseStatements() - before).toBe(1);
    expect((await publishedFor(id, 6)).map((e) => [e.name, e.seq])).toEqual([['job:started', 3], ...[4, 5, 6, 7, 8].map((seq) => ['job:progress', seq])]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 8, progressSeq: 8, progressValue: 5, progressMax: 5 });
    expect((await lifecycle.cancel(id))?.seq).toBe(9);
  });

  it('when a second sampler ticks past the reservation, then its first tick reserves again by a statement, and seqs go on without a gap', async () => {
    const id = await submitted('two-samplers');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'two-samplers');
    await notices.progress({ value: 1, max: 2, node: '3' });
    await notices.progress({ value: 2, max: 2, node: '3' });
    const before = databaseStatements();
    await notices.progress({ value: 1, max: 3, node: '8' });
    expect(databaseStatements() - before).toBe(1);
    await notices.progress({ value: 2, max: 3, node: '8' });
    await notices.settled();
    expect((await publishedFor(id, 4)).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 7, progressSeq: 6, progressValue: 2, progressMax: 3, progressNode: '8' });
  });

  it('when ticks keep coming, then the latest is stored while the prompt runs, at most once per interval, for a client that subscribes meanwhile', async () => {
    const id = await submitted('long');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'long');
    await notices.progress({ value: 1, max: 1000, node: '3' });
    const before = databaseStatements();
    const started = Date.now();
    let value = 1;
    while (Date.now() - started < PROGRESS_STORE_INTERVAL_MS * 3) {
      await notices.progress({ value: ++value, max: 1000, node: '3' });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const stored = await db.generationJob.findUniqueOrThrow({ where: { id } });
    expect(stored.progressValue).toBeGreaterThan(1);
    // One store per interval at most (and the reads of this test aside): far fewer than one per tick.
    expect(databaseStatements() - before).toBeLessThanOrEqual(1 + 4);
    expect(value).toBeGreaterThan(10);
    await notices.settled();
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressValue: value, progressSeq: 3 + value - 1 });
  });

  it('when a store finds the job no longer running there, then no later tick is published', async () => {
    const id = await submitted('gone');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'gone');
    await notices.progress({ value: 1, max: 10, node: '3' });
    await lifecycle.cancel(id);
    await notices.progress({ value: 2, max: 10, node: '3' });
    await new Promise((resolve) => setTimeout(resolve, PROGRESS_STORE_INTERVAL_MS + 100));
    // The interval's store has begun (its timer was due before this pause's); its answer, which drops
    // the reservation, may still be on its way on a loaded machine: the next ticks come after it.
    expect(await notices.settledButLatest()).toBeUndefined();
    await notices.progress({ value: 3, max: 10, node: '3' });
    await notices.progress({ value: 4, max: 10, node: '3' });
    await notices.settled();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published.filter((e) => e.jobId === id).map((e) => e.seq)).toEqual([3, 4]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'canceled', progressSeq: 3, progressValue: 1 });
  });

  it('when the outcome is about to be recorded, then settledButLatest() hands over the latest unstored tick instead of storing it', async () => {
    const id = await submitted('handover');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'handover');
    await notices.progress({ value: 1, max: 3, node: '3' });
    await notices.progress({ value: 2, max: 3, node: '3' });
    await notices.progress({ value: 3, max: 3, node: '3' });
    const before = databaseStatements();
    expect(await notices.settledButLatest()).toEqual({ tick: { value: 3, max: 3, node: '3' }, seq: 5 });
    expect(databaseStatements() - before).toBe(0);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ progressSeq: 3, progressValue: 1, eventSeq: 5 });
    expect(await notices.settledButLatest()).toBeUndefined();
  });

  it('when the prompt is expected to tick, then the started notice reserves their seqs and every tick goes out with no statement of its own', async () => {
    const id = await submitted('expected');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'expected', undefined, 3);
    notices.started();
    await startedRecorded(id);
    const before = databaseStatements();
    for (let value = 1; value <= 3; value++) await notices.progress({ value, max: 3, node: '3' });
    expect(databaseStatements() - before).toBe(0);
    expect(await notices.settledButLatest()).toEqual({ tick: { value: 3, max: 3, node: '3' }, seq: 6 });
    expect((await publishedFor(id, 4)).map((e) => [e.name, e.seq])).toEqual([['job:started', 3], ['job:progress', 4], ['job:progress', 5], ['job:progress', 6]]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 6 });
  });

  it("when the client's progress events carry more than the tick (the prompt id, the node's class), then every job:progress goes out with jobId, value, max, node and seq alone, as a replay of the stored tick holds it", async () => {
    const id = await submitted('client-ticks');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'client-ticks');
    // As ComfyClient's onProgress hands them over (run.ts), not as ProgressTick literals.
    const tick = (value: number, max: number, node: string): ProgressEvent => ({ promptId: 'client-ticks', node, classType: 'KSampler', value, max });
    notices.started();
    // With the started notice (one statement), under a reserved seq (none), past the reservation (a statement of its own).
    await notices.progress(tick(1, 2, '3'));
    await notices.progress(tick(2, 2, '3'));
    await notices.progress(tick(1, 1, '8'));
    await notices.settled();
    const ticks = (await publishedFor(id, 4)).filter((e) => e.name === 'job:progress');
    expect(ticks.map((e) => e.payload)).toEqual([
      { jobId: id, value: 1, max: 2, node: '3', seq: 4 },
      { jobId: id, value: 2, max: 2, node: '3', seq: 5 },
      { jobId: id, value: 1, max: 1, node: '8', seq: 6 },
    ]);
  });

  it('when a prompt ticks more than expected, then the tick past the reservation reserves again by a statement, seqs going on without a gap', async () => {
    const id = await submitted('more-than-expected');
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'more-than-expected', undefined, 1);
    notices.started();
    await startedRecorded(id);
    const before = databaseStatements();
    for (let value = 1; value <= 3; value++) await notices.progress({ value, max: 3, node: '3' });
    expect(databaseStatements() - before).toBe(1);
    await notices.settled();
    expect((await publishedFor(id, 4)).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
    expect(await db.generationJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ eventSeq: 6, progressSeq: 6, progressValue: 3 });
  });
});
