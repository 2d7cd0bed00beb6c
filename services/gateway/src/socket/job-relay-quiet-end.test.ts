import { relayOnFakes, storedEvent as event, type StoredEvent } from './job-relay-on-fakes';

/**
 * A job's end stored but never published: the file-organizer's statement completing it committed
 * after the file-organizer stopped waiting for it (PostgreSQL frozen past DATABASE_QUERY_TIMEOUT_MS),
 * so it published nothing, and its next try found the job already completed (found by the crash hunt:
 * a Socket.IO follower of the job, connected throughout, never heard `job:completed`). The relay asks
 * about followed jobs gone quiet and sends what their followers lack, once.
 */
describe('JobRelay: an end stored but never heard live', () => {
  const J = '00000000-0000-4000-8000-00000000001a';
  const K = '00000000-0000-4000-8000-00000000001b';
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let started: { stop(): void } | undefined;
  afterEach(() => started?.stop());

  function setUp(ended: Set<string>) {
    const stories = new Map<string, StoredEvent[]>([
    [J, [event(J, 1, 'job:queued'), event(J, 2, 'job:submitted'), event(J, 3, 'job:started')]],
    [K, [event(K, 1, 'job:queued')]],
    ]);
    const reads: string[] = [];
    const fakes = relayOnFakes({
    queuePrefix: 'quiet',
    quietCheckMs: 40,
    readStory: async (jobId) => {
        reads.push(jobId);
        return [...stories.get(jobId)!];
    },
    readEnded: async (jobIds) => jobIds.filter((id) => ended.has(id)),
    });
    const heard: string[] = [];
    const socket = { id: 's1', emit: (name: string, payload: { jobId: string; seq: number }) => heard.push(`${payload.jobId === J ? 'J' : 'K'}:${payload.seq}:${name}`) };
    return { ...fakes, stories, reads, heard, socket };
  }

  it('when a followed job completes in PostgreSQL and its job:completed is never published, then its follower gets it once the job has been quiet, once', async () => {
    const ended = new Set<string>();
    const { relay, stories, heard, socket, following } = setUp(ended);
    await relay.start();
    started = relay;
    // The story up to job:started already went out; then the job completes unheard.
    following(J, socket, 3);
    stories.get(J)!.push(event(J, 4, 'job:completed'));
    ended.add(J);
    await pause(300);
    expect(heard).toEqual(['J:4:job:completed']);
  });

  it('when a followed job is quiet but not over, then nothing is sent and its story is not read', async () => {
    const { relay, reads, heard, socket, following } = setUp(new Set());
    await relay.start();
    started = relay;
    following(K, socket, 1);
    await pause(200);
    expect(heard).toEqual([]);
    expect(reads).toEqual([]);
  });

  it('when a followed job keeps publishing live, then it is not asked about', async () => {
    const ended = new Set<string>([J]);
    const { relay, reads, heard, socket, following, publishLive } = setUp(ended);
    await relay.start();
    started = relay;
    following(J, socket, 3);
    // Heard live, then its end heard live too: nothing left to check.
    publishLive(J, 4, 'job:progress');
    publishLive(J, 5, 'job:completed');
    await pause(200);
    expect(heard).toEqual(['J:4:job:progress', 'J:5:job:completed']);
    expect(reads).toEqual([]);
  });
});
