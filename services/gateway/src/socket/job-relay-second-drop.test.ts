import { EventEmitter } from 'node:events';
import { jobEventsChannel } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobRelay } from './job-relay';

/**
 * The Redis link drops a second time while the catch-up after a first drop is still reading other
 * jobs' stories. What a followed job published during the second drop is read only by the catch-up
 * that follows: its live events heard meanwhile must wait behind that read, whatever the first
 * catch-up already did for the job, or they go out first and the missed ones are dropped by seq.
 */
describe('JobRelay: a second Redis drop during a catch-up', () => {
  const channel = jobEventsChannel('rv2');
  const J = '00000000-0000-4000-8000-00000000000a';
  const K = '00000000-0000-4000-8000-00000000000b';
  const event = (jobId: string, seq: number, name: string) => ({ seq, type: name, payload: { jobId, seq } });

  function setUp() {
    // What PostgreSQL holds of each job's story now; a read of K's waits for `openK`.
    const stories = new Map<string, ReturnType<typeof event>[]>([
      [J, [event(J, 1, 'job:queued')]],
      [K, [event(K, 1, 'job:queued')]],
    ]);
    let openK: () => void = () => undefined;
    let kReads = 0;
    const kRead = { started: new Promise<void>((resolve) => (openK = resolve)) };
    let releaseK!: () => void;
    const kGate = new Promise<void>((resolve) => (releaseK = resolve));
    const db = {
      $queryRawUnsafe: async (_text: string, jobId: string) => {
        const events = [...stories.get(jobId)!];
        if (jobId === K && kReads++ === 0) {
          openK();
          await kGate;
        }
        return [{ status: 'queued', project: 'default', progressSeq: 0, progressValue: null, progressMax: null, progressNode: null, events }];
      },
    } as unknown as Db;
    const subscriber = Object.assign(new EventEmitter(), { subscribe: async () => 1 });
    const io = { use: () => undefined, on: () => undefined, sockets: { adapter: { rooms: new Map() } } };
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
    const relay = new JobRelay({
      io: io as never,
      db,
      subscriber: subscriber as never,
      queuePrefix: 'rv2',
      log: log as never,
      authenticateKey: (async () => ({})) as never,
      maxSubscriptions: 10,
      maxConnectionsPerKey: 10,
    });
    const heard: string[] = [];
    const socket = { id: 's1', emit: (name: string, payload: { jobId: string; seq: number }) => heard.push(`${payload.jobId === J ? 'J' : 'K'}:${payload.seq}:${name}`) };
    // Both jobs followed, their stories so far already sent.
    const byJob = (relay as unknown as { byJob: Map<string, Map<string, unknown>> }).byJob;
    for (const jobId of [J, K]) byJob.set(jobId, new Map([[socket.id, { socket, lastSeq: 1, ended: false, pending: null }]]));
    return { relay, subscriber, stories, kRead, releaseK, heard };
  }

  it("when the link drops again while the first catch-up reads another job's story, then the job's events missed during the second drop go out before the live one heard after it, in seq order", async () => {
    const { relay, subscriber, stories, kRead, releaseK, heard } = setUp();
    await relay.start();
    // First drop over: the catch-up reads J's story (nothing new), then K's, held.
    subscriber.emit('ready');
    await kRead.started;
    // Second drop: J is canceled meanwhile (seq 2, never heard); back, J is retried (seq 3, heard live).
    stories.get(J)!.push(event(J, 2, 'job:canceled'), event(J, 3, 'job:retrying'));
    subscriber.emit('ready');
    subscriber.emit('message', channel, JSON.stringify({ name: 'job:retrying', seq: 3, payload: { jobId: J, seq: 3 } }));
    releaseK();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.filter((e) => e.startsWith('J'))).toEqual(['J:2:job:canceled', 'J:3:job:retrying']);
  });

  it("when the link drops again while the first catch-up is reading a job's story, then what that job missed during the second drop still goes out before its live events", async () => {
    const { relay, subscriber, stories, kRead, releaseK, heard } = setUp();
    await relay.start();
    subscriber.emit('ready');
    // The first catch-up's read of K's story began before the second drop: it cannot hold seq 2.
    await kRead.started;
    subscriber.emit('ready');
    stories.get(K)!.push(event(K, 2, 'job:canceled'), event(K, 3, 'job:retrying'));
    subscriber.emit('message', channel, JSON.stringify({ name: 'job:retrying', seq: 3, payload: { jobId: K, seq: 3 } }));
    releaseK();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.filter((e) => e.startsWith('K'))).toEqual(['K:2:job:canceled', 'K:3:job:retrying']);
  });
});
