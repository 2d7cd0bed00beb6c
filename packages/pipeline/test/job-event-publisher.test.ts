import { generationEventsStream, jobEventsChannel, type JobEventEnvelope } from '@anime/contracts';
import { removeQueueKeys, TEST_REDIS_URL, uniqueQueuePrefix, waitFor } from '@anime/testing';
import { JobEventPublisher } from '../src/job-events';
import { createRedis } from '../src/redis';

describe('JobEventPublisher', () => {
  const prefix = uniqueQueuePrefix('event-publisher');
  const redis = createRedis(TEST_REDIS_URL);
  const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');

  afterAll(async () => {
    subscriber.disconnect();
    redis.disconnect();
    await removeQueueKeys(prefix);
  });

  it('when a transition\'s events are published together, then they are all sent before any answer is awaited (no ioredis pipeline, whose construction cost more than the commands), in order, to pub/sub and (lifecycle events only) to the stream', async () => {
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(JSON.parse(message).name));
    await subscriber.subscribe(jobEventsChannel(prefix));
    const jobId = '00000000-0000-4000-8000-000000000001';
    const origin = { source: 'test', requestId: 'r' };
    const events: (JobEventEnvelope | null)[] = [
      { name: 'job:retrying', seq: 3, payload: { jobId, attempt: 2, reason: 'x', seq: 3 }, origin },
      null,
      { name: 'job:submitted', seq: 4, payload: { jobId, backend: 'http://b', attempt: 2, seq: 4 }, origin },
      { name: 'job:progress', seq: 5, payload: { jobId, value: 1, max: 2, node: null, seq: 5 } },
    ];
    const pipeline = jest.spyOn(redis, 'pipeline');
    const publish = jest.spyOn(redis, 'publish');
    const publisher = new JobEventPublisher(redis, prefix);
    const done = publisher.publishAll(events);
    // Every command is on its way before the first answer is awaited.
    expect(publish).toHaveBeenCalledTimes(3);
    await done;
    await publisher.publishAll([null]);
    expect(pipeline).not.toHaveBeenCalled();
    await waitFor(async () => received.length === 3 || null, 'the three messages', 5_000, 20);
    expect(received).toEqual(['job:retrying', 'job:submitted', 'job:progress']);
    const stream = await redis.xrange(generationEventsStream(prefix), '-', '+');
    expect(stream.map(([, fields]) => fields[1])).toEqual(['job:retrying', 'job:submitted']);
  });
});
