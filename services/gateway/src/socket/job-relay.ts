import type { Server, Socket } from 'socket.io';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CLIENT_EVENTS, JOB_EVENT_NAMES, jobEventsChannel, TERMINAL_EVENTS, type JobEventEnvelope } from '@anime/contracts';
import { isDatabaseUnavailable, readRows, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { grants } from '@anime/contracts';
import type { KeyAuthenticator } from '../http/auth/authenticate-key';
import type { Caller } from '../http/auth/caller';
import { reachesProject } from '../http/auth/project-access';
import { progressRelayLatency } from '@anime/pipeline';
import { KEY_COLUMNS, toKeyRow, type KeyColumns } from '../data/find-key-row';
import { authenticateSocket, SOCKET_CALLER, SOCKET_TOKEN } from './authenticate-socket';
import { LatestTicks } from './latest-ticks';
import { attachOpsRoom, relayToOpsRoom } from './ops-room';
import { limitIncomingMessages } from './incoming-messages-limit';
import { limitUnsentPackets } from './unread-packets-limit';
import { KeyLanes, SOCKET_BUSY } from './key-lanes';
import { messageArgs, refuseUnknownEvents } from './message-args';

const JOB_REACH = { name: 'gateway-job-reach', text: `SELECT status::text AS status, project FROM generation_jobs WHERE id = $1::uuid` };
// The job's row and every lifecycle event it has so far, in seq order: one consistent snapshot.
const STORY_COLUMNS = `j.status::text AS status, j.project, j."progressSeq", j."progressValue", j."progressMax", j."progressNode",
  (SELECT json_agg(json_build_object('seq', e.seq, 'type', e.type, 'payload', e.payload) ORDER BY e.seq) FROM job_events e WHERE e."jobId" = j.id) AS events`;
const JOB_STORY = { name: 'gateway-job-story', text: `SELECT ${STORY_COLUMNS} FROM generation_jobs j WHERE j.id = $1::uuid` };
// Which of the given jobs are over: the quiet check reads the story only of those.
const JOBS_ENDED = { name: 'gateway-jobs-ended', text: `SELECT id::text AS id FROM generation_jobs WHERE id = ANY($1::uuid[]) AND status IN ('completed', 'failed', 'canceled')` };
// The same with the connection's key ($1 its hash), so a subscribe is one statement.
const KEY_AND_STORY = {
  name: 'gateway-key-and-story',
  text: `SELECT ${KEY_COLUMNS}, ${STORY_COLUMNS}
  FROM (SELECT 1) AS one LEFT JOIN api_keys k ON k."keyHash" = $1 LEFT JOIN generation_jobs j ON j.id = $2::uuid`,
};

interface StoryRow {
  status: string | null;
  project: string;
  progressSeq: number | null;
  progressValue: number | null;
  progressMax: number | null;
  progressNode: string | null;
  events: { seq: number; type: string; payload: unknown }[] | null;
}

interface Story {
  status: string;
  project: string;
  /** Lifecycle events, then the latest progress, in seq order. */
  events: JobEventEnvelope[];
  /** The seq of the latest tick stored (0 for none), even one a re-opened render no longer shows. */
  progressSeq: number;
}

function toStory(jobId: string, job: StoryRow | undefined): Story | null {
  if (!job || job.status === null) return null;
  const events: JobEventEnvelope[] = (job.events ?? []).map((e) => ({ name: e.type as JobEventEnvelope['name'], seq: e.seq, payload: e.payload as never }));
  if (job.progressSeq && job.progressMax !== null) {
    events.push({
      name: 'job:progress',
      seq: job.progressSeq,
      payload: { jobId, value: job.progressValue ?? 0, max: job.progressMax, node: job.progressNode, seq: job.progressSeq },
    });
  }
  return { status: job.status, project: job.project, events: events.sort((a, b) => a.seq - b.seq), progressSeq: job.progressSeq ?? 0 };
}

/**
 * The status a job is in once an event of its story was recorded (each transition that changes the
 * status records one: transitions.ts). Not `job:retrying`: a retry re-opens a job at queued or
 * running, by the stage it re-opens.
 */
const STATUS_AFTER: Partial<Record<JobEventEnvelope['name'], string>> = {
  'job:queued': 'queued',
  'job:submitted': 'running',
  'job:started': 'running',
  'job:progress': 'running',
  'job:completed': 'completed',
  'job:failed': 'failed',
  'job:canceled': 'canceled',
};

/**
 * How long a followed job may go without an event before the relay asks PostgreSQL whether it is
 * over (QUIET_CHECK_MS), and how many such jobs one check asks about at most.
 */
const QUIET_CHECK_MS = 15_000;
const QUIET_CHECK_MAX_JOBS = 1_000;

/** The wait before a failed catch-up runs again, doubling after each failed pass up to the most. */
const CATCH_UP_RETRY_FIRST_MS = 1_000;
const CATCH_UP_RETRY_MAX_MS = 30_000;

type SubscribeAnswer = { ok: true; status: string } | { ok: false; error: { code: string; message: string } };
const UNAUTHENTICATED: SubscribeAnswer = { ok: false, error: { code: 'unauthenticated', message: 'the API key is no longer valid' } };
const notFound = (jobId: string): SubscribeAnswer => ({ ok: false, error: { code: 'not_found', message: `generation ${jobId} not found` } });

// Lower-cased as the events carry it (REST takes either case): else a subscription keyed by an upper-case
// id would get its replay but never a live event, and the same job in two cases would count twice.
const subscribeMessage = z.object({ jobId: z.string().uuid().transform((id) => id.toLowerCase()) });

/** One client's subscription to one job: events go out strictly in seq order, each once. */
interface Subscription {
  socket: Socket;
  lastSeq: number;
  /** Set once the terminal event went out: nothing follows it. */
  ended: boolean;
  /** Live events that arrived while the replay was being read from PostgreSQL. */
  pending: JobEventEnvelope[] | null;
  /** Live events that arrived while a catch-up (after the Redis subscription dropped) was being read. */
  held?: JobEventEnvelope[] | null;
  /**
   * The Redis subscription came back while the replay was being read, and no catch-up has read the
   * job's story since: the replay's story may lack what the job published during the outage.
   */
  gap?: boolean;
  /** When an event last went out to it (Date.now()); unset: never since it was registered. */
  sentAt?: number;
}

/**
 * Relays job events from Redis pub/sub to Socket.IO clients. On `subscribe` the job's story so far
 * is replayed from PostgreSQL (queued, started, latest progress, terminal), with the latest tick
 * heard live when it is newer than the stored one, then live events follow; a live event that
 * overlaps the replay is dropped by its seq.
 */
export class JobRelay {
  private readonly byJob = new Map<string, Map<string, Subscription>>();
  /** One catch-up at a time; a drop during one runs another after it. */
  private catchingUp = false;
  private catchUpAgain = false;
  /** Ends the wait of a failed catch-up before its next pass at once (the link dropped again meanwhile). */
  private wakeCatchUp: (() => void) | null = null;
  /** Each job's latest tick heard live, which its stored story may not hold yet. */
  private readonly ticks = new LatestTicks();
  /** Each key's subscribes and ops:joins, a few at a time: each reads the database. */
  private readonly lanes = new KeyLanes();
  private quietTimer: NodeJS.Timeout | null = null;
  private checkingQuiet = false;

  constructor(
    private readonly deps: {
      io: Server;
      db: Db;
      subscriber: Redis;
      queuePrefix: string;
      log: Logger;
      authenticateKey: KeyAuthenticator;
      /** SOCKET_MAX_SUBSCRIPTIONS: jobs one connection may follow at once. */
      maxSubscriptions: number;
      /** SOCKET_MAX_CONNECTIONS_PER_KEY: connections one key may hold to this gateway at once. */
      maxConnectionsPerKey: number;
      /** How long a followed job may stay quiet before the relay asks whether it ended unheard (QUIET_CHECK_MS, 15 s; tests shorten it). */
      quietCheckMs?: number;
    },
  ) {}

  async start(): Promise<void> {
    const channel = jobEventsChannel(this.deps.queuePrefix);
    this.deps.subscriber.on('message', (ch, message) => {
      if (ch === channel) this.onLiveEvent(message);
    });
    await this.deps.subscriber.subscribe(channel);
    // Redis pub/sub keeps nothing for a subscriber that was away: what the followed jobs published
    // while the connection was down is read from PostgreSQL once it is back (ioredis resubscribes).
    this.deps.subscriber.on('ready', () => this.requestCatchUp(channel));
    this.deps.io.use(authenticateSocket(this.deps.authenticateKey, this.deps.maxConnectionsPerKey));
    this.deps.io.on('connection', (socket) => this.attach(socket));
    this.quietTimer = setInterval(() => void this.checkQuiet(), this.deps.quietCheckMs ?? QUIET_CHECK_MS);
    this.quietTimer.unref();
  }

  /** Stops the quiet check (the gateway closing). */
  stop(): void {
    if (this.quietTimer) clearInterval(this.quietTimer);
    this.quietTimer = null;
  }

  /**
   * A transition's event can be stored and never published: its statement committed after the
   * service that sent it stopped waiting (PostgreSQL frozen or cut off past the query timeout: the
   * service took it as not done, and its next try found the job already over), or the service died
   * between the commit and the publish. Nothing of the job is heard live after its end, so a follower
   * would wait for it for as long as it stays connected (`anime generate --watch` forever). Followed
   * jobs quiet for a while are asked about, in one statement; of those over, the story is read and
   * what a follower lacks goes out, in seq order, each once. Not during a catch-up, which reads every
   * followed job's story itself, nor for a subscription replaying or holding.
   */
  private async checkQuiet(): Promise<void> {
    if (this.checkingQuiet || this.catchingUp) return;
    const quietMs = this.deps.quietCheckMs ?? QUIET_CHECK_MS;
    const now = Date.now();
    const idle = (sub: Subscription) => !sub.ended && !sub.pending && !sub.held && now - (sub.sentAt ?? 0) >= quietMs;
    const quiet = [...this.byJob].filter(([, subs]) => [...subs.values()].some(idle)).map(([jobId]) => jobId).slice(0, QUIET_CHECK_MAX_JOBS);
    if (!quiet.length) return;
    this.checkingQuiet = true;
    try {
      const ended = await readRows<{ id: string }>(this.deps.db, JOBS_ENDED, [quiet]);
      for (const { id } of ended) {
        if (this.catchingUp) break;
        const story = toStory(id, (await readRows<StoryRow>(this.deps.db, JOB_STORY, [id]))[0]);
        for (const sub of this.byJob.get(id)?.values() ?? []) {
          if (sub.pending || sub.held) continue;
          for (const envelope of story?.events ?? []) this.deliver(sub, envelope);
        }
      }
    } catch (error) {
      this.deps.log.warn('could not check quiet followed jobs for an end not heard; the next check tries again', { error: (error as Error).message });
    } finally {
      this.checkingQuiet = false;
    }
  }

  private attach(socket: Socket): void {
    limitUnsentPackets(socket, this.deps.log);
    limitIncomingMessages(socket);
    refuseUnknownEvents(socket);
    attachOpsRoom(socket, { ...this.deps, lanes: this.lanes });
    // The jobs this connection follows or is being subscribed to: counted against the cap before any await.
    const following = new Set<string>();
    socket.on(CLIENT_EVENTS.subscribe, async (...args: unknown[]) => {
      const { payload, reply } = messageArgs(args);
      const parsed = subscribeMessage.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, error: { code: 'validation_failed', message: 'subscribe needs { jobId: <uuid> }' } });
      const { jobId } = parsed.data;
      if (!following.has(jobId) && following.size >= this.deps.maxSubscriptions) {
        return reply({ ok: false, error: { code: 'too_many_subscriptions', message: `a connection may follow at most ${this.deps.maxSubscriptions} jobs (SOCKET_MAX_SUBSCRIPTIONS); unsubscribe from ended ones first` } });
      }
      const isNew = !following.has(jobId);
      following.add(jobId);
      try {
        const answer = await this.subscribe(socket, jobId);
        if (!answer.ok && isNew) following.delete(jobId);
        reply(answer);
        // After the answer went out, so the client learns why.
        if (!answer.ok && answer.error.code === 'unauthenticated') socket.disconnect(true);
      } catch (error) {
        if (isNew) following.delete(jobId);
        // A subscription registered but never replayed would buffer forever and make a retry look
        // already subscribed; dropping it lets the client's retry start clean.
        if (this.byJob.get(parsed.data.jobId)?.get(socket.id)?.pending) this.drop(parsed.data.jobId, socket.id);
        if (isDatabaseUnavailable(error)) {
          this.deps.log.warn('subscribe failed: database unavailable', { jobId: parsed.data.jobId });
          return reply({ ok: false, error: { code: 'database_unavailable', message: 'the database is unavailable; try again shortly' } });
        }
        this.deps.log.error('subscribe failed', { error: (error as Error).message });
        reply({ ok: false, error: { code: 'internal', message: 'could not subscribe' } });
      }
    });
    socket.on(CLIENT_EVENTS.unsubscribe, (...args: unknown[]) => {
      const { payload, reply } = messageArgs(args);
      const parsed = subscribeMessage.safeParse(payload);
      if (parsed.success) {
        this.drop(parsed.data.jobId, socket.id);
        following.delete(parsed.data.jobId);
      }
      reply(parsed.success ? { ok: true } : { ok: false, error: { code: 'validation_failed', message: 'unsubscribe needs { jobId: <uuid> }' } });
    });
    // Only the jobs this connection follows (at most SOCKET_MAX_SUBSCRIPTIONS), not every job followed here.
    socket.on('disconnect', () => {
      for (const jobId of following) this.drop(jobId, socket.id);
    });
  }

  /** Ends one connection's subscription to a job; a job nobody here follows any more is forgotten. */
  private drop(jobId: string, socketId: string): void {
    const subs = this.byJob.get(jobId);
    if (!subs) return;
    subs.delete(socketId);
    if (!subs.size) this.byJob.delete(jobId);
  }

  /** How many jobs at least one connection of this gateway follows (what the relay holds in memory). */
  followedJobs(): number {
    return this.byJob.size;
  }

  /** The caller of this connection, read again from the database: a key revoked since the handshake stops here. */
  private async currentCaller(socket: Socket): Promise<Caller | null> {
    const outcome = await this.deps.authenticateKey(socket.data[SOCKET_TOKEN] ?? null);
    return 'caller' in outcome ? outcome.caller : null;
  }

  private async subscribe(socket: Socket, jobId: string): Promise<SubscribeAnswer> {
    const jobs = this.byJob.get(jobId) ?? new Map<string, Subscription>();
    if (jobs.has(socket.id)) return this.lanes.run(socket, () => this.confirm(socket, jobId)) ?? SOCKET_BUSY;
    // Registered before reading the story, so nothing published meanwhile is lost; given back if the
    // key or the job turns out wrong (nothing was sent to the client by then).
    const sub: Subscription = { socket, lastSeq: 0, ended: false, pending: [] };
    this.byJob.set(jobId, jobs);
    jobs.set(socket.id, sub);
    const giveBack = () => {
      if (jobs.get(socket.id) === sub) jobs.delete(socket.id);
      if (!jobs.size && this.byJob.get(jobId) === jobs) this.byJob.delete(jobId);
    };
    // The key is read again (one revoked since the handshake stops here) by the statement that reads the
    // story, in the key's lane: registered first, so an unsubscribe sent meanwhile still takes effect in order.
    let story: Story | null | undefined;
    const read = this.lanes.run(socket, async () => {
      const outcome = await this.deps.authenticateKey(socket.data[SOCKET_TOKEN] ?? null, async (keyHash) => {
        const [row] = await readRows<KeyColumns & StoryRow>(this.deps.db, KEY_AND_STORY, [keyHash, jobId]);
        story = toStory(jobId, row);
        return toKeyRow(row);
      });
      // No key was read (AUTH_MODE=off): the story on its own.
      if ('caller' in outcome && story === undefined) story = toStory(jobId, (await readRows<StoryRow>(this.deps.db, JOB_STORY, [jobId]))[0]);
      return outcome;
    });
    if (!read) {
      giveBack();
      return SOCKET_BUSY;
    }
    const outcome = await read;
    if (!('caller' in outcome)) {
      giveBack();
      return UNAUTHENTICATED;
    }
    const { caller } = outcome;
    socket.data[SOCKET_CALLER] = caller;
    // Outside the key's reach reads exactly like a job that does not exist: nothing is told about it.
    if (!story || !grants(caller.scopes, 'read') || !reachesProject(caller, story.project)) {
      giveBack();
      return notFound(jobId);
    }
    // Unsubscribed (or disconnected) while the story was read: the client's messages take effect in
    // the order sent, so nothing of this job follows the unsubscribe's ack, nor doubles the replay of
    // a subscribe sent after it.
    if (this.byJob.get(jobId)?.get(socket.id) !== sub) return { ok: true, status: story.status };
    // A tick published before this subscription and not stored yet goes in its place by seq; one
    // older than the stored tick (the later ones went by while this gateway was not listening) does not.
    const heard = this.ticks.latest(jobId);
    const tick = heard && heard.seq > story.progressSeq ? heard : undefined;
    const pending = new Set(sub.pending ?? []);
    sub.pending = null;
    if (sub.gap) {
      // The link came back during the read and the catch-up has not read this job since: the story
      // goes out, and what was heard live waits, held, until the catch-up's read of the job covers
      // the outage (or the catch-up ends failed), as a followed job's live events do.
      sub.gap = false;
      sub.held = [...(tick ? [tick] : []), ...pending];
      for (const envelope of story.events) this.deliver(sub, envelope);
      return { ok: true, status: story.status };
    }
    // One merge by seq: the tick heard may have come in while the story was read, after events it
    // follows that are pending (job:started): sent first, it would make them look already sent.
    let latest: JobEventEnvelope | undefined;
    for (const envelope of [...story.events, ...(tick ? [tick] : []), ...pending].sort((a, b) => a.seq - b.seq)) {
      if (this.deliver(sub, envelope)) latest = envelope;
    }
    // The replay ended on a stored event (one pending too went out as the story's copy, sorted first):
    // the story's status is the one it left the job in, whatever pending tick went out before it.
    if (!latest || !pending.has(latest)) return { ok: true, status: story.status };
    // Events arrived during the replay and went out after it: the ack tells the status the latest of
    // them left the job in, as its client now knows it. A retry's does not say (it re-opens a job at
    // queued or running, by its stage): the status is read again. The subscription is live by now,
    // so a failed read is not a failed subscribe.
    const after = STATUS_AFTER[latest.name];
    if (after) return { ok: true, status: after };
    const fresh = await readRows<{ status: string }>(this.deps.db, JOB_REACH, [jobId]).catch(() => []);
    return { ok: true, status: fresh[0]?.status ?? story.status };
  }

  private requestCatchUp(channel: string): void {
    // At once, before any await: live events heard from now on wait behind what the catch-up reads of
    // their job, which it may reach only after many other jobs' stories.
    this.holdLive();
    if (this.catchingUp) {
      this.catchUpAgain = true;
      this.wakeCatchUp?.();
      return;
    }
    this.catchingUp = true;
    // The gateway stopping closed the subscriber: nothing more to catch up with.
    const closed = () => this.deps.subscriber.status === 'end';
    void (async () => {
      let retryMs = CATCH_UP_RETRY_FIRST_MS;
      for (;;) {
        this.catchUpAgain = false;
        // Again for a pass after a failed one, which let go of what it held.
        this.holdLive();
        const failed = await this.catchUp(channel).then(
          () => false,
          (error: unknown) => {
            this.deps.log.warn('catch-up after the Redis subscription dropped failed', { error: (error as Error).message, retryMs });
            return true;
          },
        );
        if (this.catchUpAgain) continue;
        // A failed pass (PostgreSQL away) let go of what it held, and what the followed jobs published
        // during the drop went to nobody: a job that ended then sends nothing more live, and its client
        // would wait for its end without end. Read again later, each follower sent what it lacks past
        // what it has, until a pass gets through or the subscriber is closed (the gateway stopping).
        if (!failed || closed()) break;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          timer.unref();
          this.wakeCatchUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeCatchUp = null;
        retryMs = Math.min(retryMs * 2, CATCH_UP_RETRY_MAX_MS);
        if (closed()) break;
      }
      this.catchingUp = false;
    })();
  }

  /**
   * After the event subscription came back: the subscription is confirmed first (events from then on
   * arrive live), then each followed job's story is read and what a follower lacks is sent, in seq
   * order; live events arriving meanwhile are held and sent after it (each once, by seq).
   */
  private async catchUp(channel: string): Promise<void> {
    const jobs = [...this.byJob];
    try {
      await this.deps.subscriber.subscribe(channel);
      for (const [jobId, subs] of jobs) {
        const live = [...subs.values()];
        const holding = live.filter((sub) => !sub.pending);
        for (const sub of holding) sub.held ??= [];
        let story: Story | null = null;
        try {
          story = toStory(jobId, (await readRows<StoryRow>(this.deps.db, JOB_STORY, [jobId]))[0]);
        } finally {
          for (const sub of live) {
            // A subscribe still reading its own story sends these after it, sorted, with what it holds:
            // its own story may have been read before the outage's events were stored.
            if (sub.pending) {
              sub.pending.push(...(story?.events ?? []));
              if (!this.catchUpAgain) sub.gap = false;
            }
            // The link dropped again meanwhile (catchUpAgain): this story may lack what the job published
            // then, which only the next pass reads; until it does, what is heard live stays held. Also
            // one whose replay ended during this read, holding because of a gap: this story covers it.
            else if (sub.held && !this.catchUpAgain) this.release(jobId, sub, story?.events ?? []);
          }
        }
      }
    } finally {
      // Not reached (the catch-up failed): what they hold goes out, as it would have without a catch-up;
      // unless another pass follows (the link dropped again), which reads every followed job's story.
      // A subscribe still reading its story no longer waits for this catch-up once its replay ends.
      if (!this.catchUpAgain) {
        for (const [jobId, subs] of jobs) {
          for (const sub of subs.values()) {
            sub.gap = false;
            if (sub.held) this.release(jobId, sub, []);
          }
        }
      }
    }
  }

  /**
   * Every followed job's subscriptions not replaying hold their live events until the catch-up reaches
   * the job; those replaying are marked, so that their replay's end holds them too unless it did.
   */
  private holdLive(): void {
    for (const subs of this.byJob.values()) {
      for (const sub of subs.values()) {
        if (sub.pending) sub.gap = true;
        else sub.held ??= [];
      }
    }
  }

  /** Sends what a held subscription lacks of `events` and what it held, in seq order, and stops holding. */
  private release(jobId: string, sub: Subscription, events: JobEventEnvelope[]): void {
    const held = sub.held ?? [];
    sub.held = null;
    // Unsubscribed meanwhile: nothing more for it.
    if (this.byJob.get(jobId)?.get(sub.socket.id) !== sub) return;
    for (const envelope of [...events, ...held].sort((a, b) => a.seq - b.seq)) this.deliver(sub, envelope);
  }

  /** A subscribe for a job this connection already follows: the key and the job are checked again, nothing replayed. */
  private async confirm(socket: Socket, jobId: string): Promise<SubscribeAnswer> {
    const caller = await this.currentCaller(socket);
    if (!caller) return UNAUTHENTICATED;
    socket.data[SOCKET_CALLER] = caller;
    const [job] = await readRows<{ status: string; project: string }>(this.deps.db, JOB_REACH, [jobId]);
    return job && grants(caller.scopes, 'read') && reachesProject(caller, job.project) ? { ok: true, status: job.status } : notFound(jobId);
  }

  private onLiveEvent(message: string): void {
    let envelope: JobEventEnvelope;
    try {
      envelope = JSON.parse(message) as JobEventEnvelope;
    } catch {
      return;
    }
    const jobId = (envelope.payload as { jobId?: string })?.jobId;
    if (!jobId) return;
    this.ticks.observe(jobId, envelope);
    for (const sub of this.byJob.get(jobId)?.values() ?? []) {
      if (sub.pending) sub.pending.push(envelope);
      else if (sub.held) sub.held.push(envelope);
      else this.deliver(sub, envelope);
    }
    relayToOpsRoom(this.deps.io, envelope);
    // Known names only: the label's values stay bounded whatever lands on the channel.
    if (typeof envelope.publishedAt === 'number' && JOB_EVENT_NAMES.includes(envelope.name)) progressRelayLatency.observe({ event: envelope.name }, Math.max(0, Date.now() - envelope.publishedAt) / 1000);
  }

  /** Sends the event unless the subscription had it already or has ended; whether it went out. */
  private deliver(sub: Subscription, envelope: JobEventEnvelope): boolean {
    if (envelope.seq <= sub.lastSeq) return false;
    // A retried stage re-opens a failed job's story: events follow its terminal one again.
    if (envelope.name === 'job:retrying') sub.ended = false;
    if (sub.ended) return false;
    sub.lastSeq = envelope.seq;
    sub.ended = TERMINAL_EVENTS.includes(envelope.name);
    sub.sentAt = Date.now();
    sub.socket.emit(envelope.name, envelope.payload);
    return true;
  }
}
