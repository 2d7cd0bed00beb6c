import { jobEventsChannel } from '@anime/contracts';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL } from '@anime/testing';

/** A job event as published on pub/sub, the way a gateway receives it. */
export interface PublishedEvent {
  jobId: string;
  name: string;
  seq: number;
  /** What a Socket.IO client is sent. */
  payload: Record<string, unknown>;
}

/** Listens to every job event published under the queue prefix from now on, in the order published. */
export async function listenToJobEvents(queuePrefix: string): Promise<{ published: PublishedEvent[]; close(): void }> {
  const subscriber = createRedis(TEST_REDIS_URL, 'subscriber');
  const published: PublishedEvent[] = [];
  subscriber.on('message', (_channel, raw) => {
    const { name, seq, payload } = JSON.parse(raw);
    published.push({ jobId: payload.jobId, name, seq, payload });
  });
  await subscriber.subscribe(jobEventsChannel(queuePrefix));
  return { published, close: () => subscriber.disconnect() };
}
