import { relayOnFakes, storedEvent as event, type StoredEvent } from './job-relay-on-fakes';

/**
 * The Redis link drops a second time while the catch-up after a first drop is still reading other
 * jobs' stories. What a followed job published during the second drop is read only by the catch-up
 * that follows: its live events heard meanwhile must wait behind that read, whatever the first
 * catch-up already did for the job, or they go out first and the missed ones are dropped by seq.
 */
describe('JobRelay: a second Redis drop during a catch-up', () => {
  const J = '00000000-0000-4000-8000-00000000000a';
  const K = '00000000-0000-4000-8000-00000000000b';

  function setUp() {
    // What PostgreSQL holds of each job's story now; a read of K's waits for `openK`.
    const stories = new Map<string, StoredEvent[]>([
      [J, [event(J, 1, 'job:queued')]],
      [K, [event(K, 1, 'job:queued')]],
    ]);
    let openK: () => void = () => undefined;
    let kReads = 0;
    const kRead = { started: new Promise<void>((resolve) => (openK = resolve)) };
    let releaseK!: () => void;
    const kGate = new Promise<void>((resolve) => (releaseK = resolve));
    const { relay, subscriber, publishLive, following } = relayOnFakes({
      queuePrefix: 'rv2',
      readStory: async (jobId) => {
        const events = [...stories.get(jobId)!];
        if (jobId === K && kReads++ === 0) {
          openK();
          await kGate;
        }
        return events;
      },
    });
    const heard: string[] = [];
    const socket = { id: 's1', emit: (name: string, payload: { jobId: string; seq: number }) => heard.push(`${payload.jobId === J ? 'J' : 'K'}:${payload.seq}:${name}`) };
    // Both jobs followed, their stories so far already sent.
    for (const jobId of [J, K]) following(jobId, socket);
    return { relay, subscriber, publishLive, stories, kRead, releaseK, heard };
  }

  it("when the link drops again while the first catch-up reads another job's story, then the job's events missed during the second drop go out before the live one heard after it, in seq order", async () => {
    const { relay, subscriber, publishLive, stories, kRead, releaseK, heard } = setUp();
    await relay.start();
    // First drop over: the catch-up reads J's story (nothing new), then K's, held.
    subscriber.emit('ready');
    await kRead.started;
    // Second drop: J is canceled meanwhile (seq 2, never heard); back, J is retried (seq 3, heard live).
    stories.get(J)!.push(event(J, 2, 'job:canceled'), event(J, 3, 'job:retrying'));
    subscriber.emit('ready');
    publishLive(J, 3, 'job:retrying');
    releaseK();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.filter((e) => e.startsWith('J'))).toEqual(['J:2:job:canceled', 'J:3:job:retrying']);
  });

  it("when the link drops again while the first catch-up is reading a job's story, then what that job missed during the second drop still goes out before its live events", async () => {
    const { relay, subscriber, publishLive, stories, kRead, releaseK, heard } = setUp();
    await relay.start();
    subscriber.emit('ready');
    // The first catch-up's read of K's story began before the second drop: it cannot hold seq 2.
    await kRead.started;
    subscriber.emit('ready');
    stories.get(K)!.push(event(K, 2, 'job:canceled'), event(K, 3, 'job:retrying'));
    publishLive(K, 3, 'job:retrying');
    releaseK();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.filter((e) => e.startsWith('K'))).toEqual(['K:2:job:canceled', 'K:3:job:retrying']);
  });
});
