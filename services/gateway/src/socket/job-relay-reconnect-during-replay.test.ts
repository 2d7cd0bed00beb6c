import { relayOnFakes, storedEvent as event, type StoredEvent } from './job-relay-on-fakes';

/**
 * A subscribe reads its job's story from PostgreSQL while the Redis link is down, and the link comes
 * back before the read is over: the story may lack what the job published during the outage, and the
 * catch-up (which reads every followed job's story again) may not have reached the job yet. The live
 * events heard after the reconnect must wait until something read after it covers the outage, or they
 * go out first and the missed ones are dropped by seq.
 */
describe('JobRelay: a subscribe whose replay is read across a Redis reconnect', () => {
  const J = '00000000-0000-4000-8000-00000000000a';
  const K = '00000000-0000-4000-8000-00000000000b';
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  /** A read of a job's story that waits until the test opens it (and then fails, if told to); `started` once it began. */
  function gate() {
    let began!: () => void;
    let open!: () => void;
    const started = new Promise<void>((resolve) => (began = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    return {
      started,
      open,
      fail: false,
      async wait() {
        began();
        await opened;
      },
    };
  }

  function setUp() {
    // What PostgreSQL holds of each job's story now; the next read of a job waits for its gate, if any.
    const stories = new Map<string, StoredEvent[]>([
      [J, [event(J, 1, 'job:queued')]],
      [K, [event(K, 1, 'job:queued')]],
    ]);
    const gates = new Map<string, ReturnType<typeof gate>[]>();
    const { relay, subscriber, publishLive, following, subscribe } = relayOnFakes({
      queuePrefix: 'rly',
      readStory: async (jobId) => {
        // The snapshot is taken when the statement starts, as PostgreSQL's would be.
        const events = [...stories.get(jobId)!];
        const next = gates.get(jobId)?.shift();
        if (next) {
          await next.wait();
          if (next.fail) throw new Error('connection terminated');
        }
        return events;
      },
    });
    const hold = (jobId: string) => {
      const g = gate();
      gates.set(jobId, [...(gates.get(jobId) ?? []), g]);
      return g;
    };
    const heard: string[] = [];
    const socketOf = (id: string) => ({
      id,
      data: {},
      emit: (name: string, payload: { jobId: string; seq: number }) => heard.push(`${id}/${payload.jobId === J ? 'J' : 'K'}:${payload.seq}:${name}`),
    });
    // K is followed already (its story so far sent), ahead of J in the catch-up's order.
    following(K, socketOf('s0'));
    return { relay, subscriber, publishLive, stories, hold, heard, socket: socketOf('s1'), subscribe };
  }

  it("when the subscribe's story was read before the outage's events were stored and it ends before the catch-up reaches the job, then the outage's events go out before the live one heard after the reconnect", async () => {
    const { relay, subscriber, publishLive, stories, hold, heard, socket, subscribe } = setUp();
    await relay.start();
    const replay = hold(J);
    const catchUpOfK = hold(K);
    const answer = subscribe(socket, J);
    // The story is read (J:1 only), then the link drops: J starts meanwhile (seq 2, never heard).
    await replay.started;
    stories.get(J)!.push(event(J, 2, 'job:started'));
    // Back: the catch-up reads K's story first; J ticks, heard live.
    subscriber.emit('ready');
    await catchUpOfK.started;
    publishLive(J, 3, 'job:progress');
    // The replay ends before the catch-up reaches J.
    replay.open();
    expect(await answer).toMatchObject({ ok: true });
    catchUpOfK.open();
    await settle();
    expect(heard.filter((e) => e.startsWith('s1/'))).toEqual(['s1/J:1:job:queued', 's1/J:2:job:started', 's1/J:3:job:progress']);
  });

  it("when the subscribe's replay ends while the catch-up is reading the job's story, then the outage's events still go out before the live one", async () => {
    const { relay, subscriber, publishLive, stories, hold, heard, socket, subscribe } = setUp();
    await relay.start();
    const replay = hold(J);
    const answer = subscribe(socket, J);
    await replay.started;
    stories.get(J)!.push(event(J, 2, 'job:started'));
    // Back: the catch-up reads K's story (at once), then J's, which waits.
    const catchUpOfJ = hold(J);
    subscriber.emit('ready');
    await catchUpOfJ.started;
    publishLive(J, 3, 'job:progress');
    replay.open();
    await answer;
    catchUpOfJ.open();
    await settle();
    expect(heard.filter((e) => e.startsWith('s1/'))).toEqual(['s1/J:1:job:queued', 's1/J:2:job:started', 's1/J:3:job:progress']);
  });

  it('when the catch-up reads the job while the subscribe still reads its own story, then the replay sends everything at once, in seq order', async () => {
    const { relay, subscriber, publishLive, stories, hold, heard, socket, subscribe } = setUp();
    await relay.start();
    const replay = hold(J);
    const answer = subscribe(socket, J);
    await replay.started;
    stories.get(J)!.push(event(J, 2, 'job:started'));
    subscriber.emit('ready');
    publishLive(J, 3, 'job:progress');
    // The catch-up read J's story (held in the subscription's pending) and is over.
    await settle();
    replay.open();
    await answer;
    // Nothing waits for a catch-up that already covered the outage.
    expect(heard.filter((e) => e.startsWith('s1/'))).toEqual(['s1/J:1:job:queued', 's1/J:2:job:started', 's1/J:3:job:progress']);
    publishLive(J, 4, 'job:progress');
    expect(heard.at(-1)).toBe('s1/J:4:job:progress');
  });

  it('when the catch-up fails before reaching the job, then what the subscription heard live still goes out after its replay', async () => {
    const { relay, subscriber, publishLive, hold, heard, socket, subscribe } = setUp();
    await relay.start();
    const replay = hold(J);
    const catchUpOfK = hold(K);
    catchUpOfK.fail = true;
    const answer = subscribe(socket, J);
    await replay.started;
    subscriber.emit('ready');
    await catchUpOfK.started;
    publishLive(J, 2, 'job:started');
    replay.open();
    await answer;
    catchUpOfK.open();
    await settle();
    expect(heard.filter((e) => e.startsWith('s1/'))).toEqual(['s1/J:1:job:queued', 's1/J:2:job:started']);
    // Live from then on.
    publishLive(J, 3, 'job:progress');
    expect(heard.at(-1)).toBe('s1/J:3:job:progress');
  });

  it('when the catch-up fails while the subscribe still reads its story, then the replay does not wait for it', async () => {
    const { relay, subscriber, publishLive, hold, heard, socket, subscribe } = setUp();
    await relay.start();
    const replay = hold(J);
    const catchUpOfK = hold(K);
    catchUpOfK.fail = true;
    const answer = subscribe(socket, J);
    await replay.started;
    subscriber.emit('ready');
    await catchUpOfK.started;
    publishLive(J, 2, 'job:started');
    catchUpOfK.open();
    await settle();
    replay.open();
    await answer;
    expect(heard.filter((e) => e.startsWith('s1/'))).toEqual(['s1/J:1:job:queued', 's1/J:2:job:started']);
  });
});
