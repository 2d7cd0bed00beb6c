import { EventEmitter } from 'node:events';
import { jobEventsChannel } from '@anime/contracts';
import type { Db } from '@anime/db';
import { LOCAL_CALLER } from '../http/auth/caller';
import { JobRelay } from './job-relay';

/*
 * For the JobRelay unit tests: a relay whose Socket.IO server and log do nothing, whose Redis
 * subscriber is an EventEmitter the test drives, and whose reads of a job's story ask the test.
 */

/** An event of a job's story as PostgreSQL holds it. */
export const storedEvent = (jobId: string, seq: number, name: string) => ({ seq, type: name, payload: { jobId, seq } });
export type StoredEvent = ReturnType<typeof storedEvent>;

/** The little of a Socket.IO socket the relay uses. */
export interface FakeSocket {
  id: string;
  data?: Record<string, unknown>;
  emit: (name: string, payload: { jobId: string; seq: number }) => unknown;
}

export interface RelayOnFakesOptions {
  queuePrefix: string;
  /** What a read of the job's story returns (its events), once it may; every other column is a queued job's. */
  readStory: (jobId: string) => Promise<StoredEvent[]>;
  /** Which of the given jobs PostgreSQL holds as over (the quiet check's question); none unless given. */
  readEnded?: (jobIds: string[]) => Promise<string[]>;
  /** JobRelay's quietCheckMs. */
  quietCheckMs?: number;
}

export function relayOnFakes({ queuePrefix, readStory, readEnded, quietCheckMs }: RelayOnFakesOptions) {
  const db = {
    $queryRawUnsafe: async (_text: string, jobId: string | string[]) => {
      if (Array.isArray(jobId)) return (await (readEnded ?? (async () => []))(jobId)).map((id) => ({ id }));
      const events = await readStory(jobId);
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
    queuePrefix,
    log: log as never,
    // AUTH_MODE=off: the story is read on its own.
    authenticateKey: (async () => ({ caller: LOCAL_CALLER })) as never,
    maxSubscriptions: 10,
    maxConnectionsPerKey: 10,
    quietCheckMs,
  });
  const internals = relay as unknown as {
    byJob: Map<string, Map<string, unknown>>;
    subscribe: (socket: FakeSocket, jobId: string) => Promise<{ ok: boolean; status?: string }>;
  };
  const channel = jobEventsChannel(queuePrefix);
  return {
    relay,
    /** Emit `ready` on it for the link coming back (the relay's catch-up follows). */
    subscriber,
    /** A job event published live, as the subscriber hears it from Redis. */
    publishLive: (jobId: string, seq: number, name: string) => subscriber.emit('message', channel, JSON.stringify({ name, seq, payload: { jobId, seq } })),
    /** `socket` follows `jobId` already, its story up to `lastSeq` sent. */
    following: (jobId: string, socket: FakeSocket, lastSeq = 1) => {
      const subs = internals.byJob.get(jobId) ?? new Map<string, unknown>();
      subs.set(socket.id, { socket, lastSeq, ended: false, pending: null });
      internals.byJob.set(jobId, subs);
    },
    /** What a client's `subscribe` message does; the answer is its ack. */
    subscribe: (socket: FakeSocket, jobId: string) => internals.subscribe(socket, jobId),
  };
}
