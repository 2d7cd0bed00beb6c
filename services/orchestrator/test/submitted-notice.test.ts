import { generationRequestBodySchema, jobEventsChannel, type JobEventEnvelope } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createLogger } from '@anime/logger';
import { createRedis, JobEventPublisher, JobLifecycle } from '@anime/pipeline';
import { createTestDatabase, removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor, type TestDatabase } from '@anime/testing';
import type { Redis } from 'ioredis';
import { PromptNotices } from '../src/jobs/prompt-notices';
import { SubmittedNotice } from '../src/jobs/submitted-notice';

const workflow = { '1': { class_type: 'SaveImage', inputs: {} } };
const conditioning = { positive: 'p', negative: 'n', loras: [], references: [], outfit: null };

describe('SubmittedNotice (job:submitted published once ComfyUI queued the prompt, withdrawn when it refused it)', () => {
  let database: TestDatabase;
  let db: Db;
  let lifecycle: JobLifecycle;
  let redis: Redis;
  let subscriber: Redis;
  let events: JobEventPublisher;
  let resolution: { characterId: string; characterVersionId: string; conditioning: typeof conditioning };
  const published: { jobId: string; name: string; seq: number }[] = [];
  const log = createLogger('orchestrator', 'error');
  const prefix = uniqueQueuePrefix('submitted-notice');

  beforeAll(async () => {
    database = await createTestDatabase('submitted-notice');
    db = createDb(database.url, { max: 3 });
    lifecycle = new JobLifecycle(db);
    redis = createRedis(TEST_REDIS_URL);
    subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
    subscriber.on('message', (_channel, raw) => {
      const { name, seq, payload } = JSON.parse(raw);
      published.push({ jobId: payload.jobId, name, seq });
    });
    await subscriber.subscribe(jobEventsChannel(prefix));
    events = new JobEventPublisher(redis, prefix);
    const character = await db.character.create({ data: { slug: 'kai', name: 'Kai', currentVersion: 1 } });
    const version = await db.characterVersion.create({ data: { characterId: character.id, number: 1, definition: { displayName: 'Kai' } } });
    resolution = { characterId: character.id, characterVersionId: version.id, conditioning };
  });

  afterAll(async () => {
    subscriber.disconnect();
    redis.disconnect();
    await db.$disconnect();
    await database.drop();
    await removeQueueKeys(prefix);
  });

  /** A generation whose first attempt is recorded (the submit statement), as before its prompt is posted. */
  const recordedAttempt = async (promptId: string) => {
    const { job } = await lifecycle.create({ body: generationRequestBodySchema.parse({ character: 'kai', prompt: 'x' }), source: 'test', resolution });
    const event = (await lifecycle.submit(job.id, { backend: 'http://a', promptId, workflow })) as JobEventEnvelope<'job:submitted'>;
    return { id: job.id, event };
  };
  const story = async (id: string) => (await db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } })).map((e) => e.type);
  const publishedOf = (id: string) => published.filter((e) => e.jobId === id).map((e) => e.name);
  // Pub/sub is in order on one connection: a marker published after the notice's decision shows what came before it.
  const markerSeen = async (id: string) => {
    await events.publishAll([{ name: 'job:canceled', seq: 999, payload: { jobId: id, seq: 999 } }]);
    await waitFor(() => publishedOf(id).includes('job:canceled'), 'the marker event');
    return publishedOf(id).filter((name) => name !== 'job:canceled');
  };

  it('when ComfyUI queues the prompt, then job:submitted is published only then, and a started notice that came before the answer follows it', async () => {
    const { id, event } = await recordedAttempt('queued');
    const submitted = new SubmittedNotice({ lifecycle, events, log }, event);
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'queued', submitted.announced);
    // ComfyUI began executing before its POST answer reached us.
    notices.started();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(publishedOf(id)).toEqual([]);
    expect((await db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt).toBeNull();

    submitted.accepted();
    await notices.settled();
    await waitFor(() => publishedOf(id).length >= 2, 'job:submitted and job:started');
    expect(publishedOf(id)).toEqual(['job:submitted', 'job:started']);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted', 'job:started']);
  });

  it('when ComfyUI refuses the prompt, then job:submitted is taken out of the story, nothing is published, and a started notice meanwhile records nothing', async () => {
    const { id, event } = await recordedAttempt('refused');
    const submitted = new SubmittedNotice({ lifecycle, events, log }, event);
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'refused', submitted.announced);
    notices.started();

    await submitted.refused();
    await notices.settled();
    expect(await story(id)).toEqual(['job:queued']);
    expect((await db.jobAttempt.findFirstOrThrow({ where: { jobId: id } })).startedAt).toBeNull();
    expect(await markerSeen(id)).toEqual([]);
    // The attempt itself stays: the failure (or the next attempt) records how it ended.
    expect(await db.jobAttempt.count({ where: { jobId: id } })).toBe(1);
  });

  it('when the POST got no answer, then the stored job:submitted stands and is published (ComfyUI may hold the prompt), and a started notice meanwhile follows it', async () => {
    const { id, event } = await recordedAttempt('unanswered');
    const submitted = new SubmittedNotice({ lifecycle, events, log }, event);
    const notices = new PromptNotices({ lifecycle, events, log }, id, 'unanswered', submitted.announced);
    notices.started();
    submitted.unanswered({ publish: true });
    await notices.settled();
    expect(await submitted.announced).toBe(true);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted', 'job:started']);
    expect(await markerSeen(id)).toEqual(['job:submitted', 'job:started']);
  });

  it('when the process shuts down before ComfyUI answered, then the stored job:submitted stays for the next process to resume, and nothing is published', async () => {
    const { id, event } = await recordedAttempt('shutdown');
    const submitted = new SubmittedNotice({ lifecycle, events, log }, event);
    submitted.unanswered({ publish: false });
    expect(await submitted.announced).toBe(false);
    expect(await story(id)).toEqual(['job:queued', 'job:submitted']);
    expect(await markerSeen(id)).toEqual([]);
  });

  it('when the answer comes after the attempt was given up, then it changes nothing', async () => {
    const { id, event } = await recordedAttempt('late');
    const submitted = new SubmittedNotice({ lifecycle, events, log }, event);
    await submitted.refused();
    submitted.accepted();
    expect(await submitted.announced).toBe(false);
    expect(await story(id)).toEqual(['job:queued']);
    expect(await markerSeen(id)).toEqual([]);
  });
});
