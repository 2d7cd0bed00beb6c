import type { ComfyClient } from '@anime/comfyui-client';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { NoCapableBackendError, PromptTimedOutError, StageDeferredError, within, type DynamicConcurrency } from '@anime/pipeline';
import { AbandonedPrompts } from './backends/abandoned-prompts';
import { Backend, CAPABILITIES_RECHECK_MS } from './backends/backend';
import { BackendStore, type BackendRecord } from './backends/backend-store';
import { createHandBackLog, type HandBackLog } from './backends/hand-back-log';
import { HandedBackJobs, handBackScore } from './backends/handed-back-jobs';
import type { SharedHandBacks } from './backends/shared-hand-backs';
import { RoomWaiters, type RoomWaiter } from './backends/room-waiters';
import { modelFilesOf, type BackendCapabilities } from './backends/capabilities';
import { routeJob, type JobNeeds, type RouteCandidate } from './backends/route-job';

/** A backend held for one job while this process drives a prompt on it. Release it once, when done. */
export interface BackendLease {
  url: string;
  client: ComfyClient;
  /** The checkpoint routing chose for this job on this backend (empty when resuming a recorded prompt). */
  checkpoint: string;
  capabilities: BackendCapabilities | null;
  /** Aborted when the backend goes down while the job holds it. */
  lost: AbortSignal;
  release(): void;
}

export interface BackendPoolOptions {
  urls: string[];
  db: Db;
  log: Logger;
  /** BACKEND_PREFETCH: prompts waiting in a backend's own queue besides the running one. */
  prefetch?: number;
  defaultCheckpoint?: string;
  /** How often every backend is probed (/system_stats); a dead one is marked down within two periods. */
  probeEveryMs?: number;
  /** How long an interrupted abandoned prompt is given to stop before the backend is taken for stuck (DEFAULT_STOP_GRACE_MS). */
  stopGraceMs?: number;
  /** How often at most each backend's /object_info is read again for what routing asks (CAPABILITIES_RECHECK_MS). */
  capabilitiesRecheckMs?: number;
  /**
   * BACKEND_UNREACHABLE_GRACE_S in ms: how long a backend whose models are unknown may fail to answer
   * (never since start, or since its failing began) before a job only it may be able to run fails
   * with no_capable_backend naming it, rather than waiting for it (DEFAULT_UNREACHABLE_GRACE_MS).
   */
  unreachableGraceMs?: number;
  /**
   * The lines of handed-back jobs every orchestrator sharing the queue keeps in Redis: with them, a
   * place coming free here promotes a job another process (or this one before a restart) handed back.
   * Without, only the jobs this process handed back are promoted.
   */
  shared?: SharedHandBacks;
}

const DEFAULT_PROBE_MS = 2_000;
/**
 * BACKEND_UNREACHABLE_GRACE_S's default, 60 s: a ComfyUI's first start with many custom nodes takes
 * 30-90 s (importing them, before it listens), while a dead URL is told within two probes (~4 s); a
 * job only a backend still starting may run waits for it this long, not JOB_TIMEOUT_S.
 */
export const DEFAULT_UNREACHABLE_GRACE_MS = 60_000;
/** A probe that changes nothing but lastSeenAt rewrites the row only this often. */
const LAST_SEEN_EVERY_MS = 30_000;
/** How often finished-job counts are added to `backends.jobsDone`: one statement per period for all backends, not one per job. */
const JOBS_DONE_FLUSH_MS = 1_000;
/**
 * How long close() waits for a probe tick in flight. Its sweep sends nothing more once the pool
 * closes, but the request it waits on may take its own timeout (30 s for the job client, 10 s for a
 * query): past the 2 s a service's stop is given, which would cut the steps after the pool's close.
 */
const CLOSE_WAIT_MS = 1_000;
/** A checkpoint no backend is known to have, which jobs fall back from, reads the backends again at most this often. */
const FALLBACK_RECHECK_MS = 60_000;
/** Distinct unmet needs remembered; forgotten (and read for again) past this many. */
const NEEDS_REMEMBERED = 1_000;
/**
 * The most jobs waiting for a capable backend to be up and taking jobs (down, draining) that each add
 * a worker slot (renderConcurrency). Bounded by every backend's places instead, a drained backend's
 * jobs at the head of the queue took every slot and the backends left sat idle until it came back.
 * Each is a BullMQ job held in memory with its lock, so a queue led by more than this many jobs for a
 * backend that is down or draining still holds back the jobs behind them.
 */
const MAX_WAITING_FOR_BACKEND = 1_000;

/**
 * The ComfyUI backends of COMFYUI_URLS: health (probes and WebSocket state), cached
 * capabilities, drain flags from PostgreSQL (read at every probe tick and on a backend-changes
 * notice), and model-aware routing of jobs to them. Each
 * backend's state is written to the `backends` table, which the gateway serves.
 */
export class BackendPool {
  private readonly backends: Backend[];
  private readonly store: BackendStore;
  /** When the backends were last read again for needs no backend was known to meet (recheckFor), and that read. */
  private readonly needsRechecked = new Map<string, { at: number; read: Promise<void> }>();
  /**
   * Jobs waiting for a backend: each one's wake-up, with its priority rank (PRIORITY_RANK: lower goes
   * first) and when it began to wait (`since`, the order of acquire calls, kept across its own looks again).
   */
  private readonly waiters = new Map<() => void, { rank: number; since: number }>();
  /** Counts acquire calls that began to wait: each one's `since`. */
  private arrivals = 0;
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;
  /** Jobs finished per backend id, not yet added to `backends.jobsDone`. */
  private readonly doneUnflushed = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** The drain-flag read in flight, and the one queued behind it for callers that arrived meanwhile. */
  private drainRead: Promise<void> | undefined;
  private drainReadNext: Promise<void> | undefined;
  /** Per backend id: what was last written to its row (without lastSeenAt), and when. */
  private readonly saved = new Map<string, { state: string; at: number }>();
  /** Row writes still in flight (start() waits for the first probe's). */
  private readonly saving = new Set<Promise<void>>();
  /**
   * Per backend id: the last of its row's writes, each started once the one before it ended. Issued
   * at once on whichever pooled connection is free, a write could commit after a later one (its
   * connection still opening, its server process not yet scheduled on a loaded host): the row then
   * told the earlier state (up) while this process held the later (down, stuck), and went on telling
   * it, the later state being the one last saved.
   */
  private readonly rowWrites = new Map<string, Promise<void>>();
  /** Per backend id: the state to write once its row's write in flight ends (the latest wins: one write, not a backlog). */
  private readonly unsaved = new Map<string, BackendRecord>();
  /** Jobs in acquire() waiting for a place on a capable backend that is up but full. */
  private readonly roomWaiters = new RoomWaiters();
  /** Jobs handed back to their queue for want of a place to wait for, promoted as places come free. */
  private readonly handedBack = new HandedBackJobs();
  /** Their lines: a job's first hand-back at info, later ones at debug, and how many wait once a minute. */
  private readonly handBackLog: HandBackLog;
  /** Backends whose handed-back jobs are to be topped up once this turn's waits settle (refill). */
  private readonly refilling = new Set<string>();
  /** Backends asked to be topped up again while a top-up from the shared lines was in flight. */
  private readonly refillAgain = new Set<string>();
  /** Jobs in acquire() waiting because no capable backend is up and taking jobs (down, draining, models unknown). */
  private waitingForBackend = 0;
  private readonly capacityListeners = new Set<() => void>();
  /** Prompts this process (or, restored at start, an earlier one) left on backends taken for down; taken off them once they are back. */
  private readonly abandoned: AbandonedPrompts;
  /** The start's restore of what earlier processes abandoned, while it reads (it never rejects). */
  private restoring: Promise<void> | undefined;
  /** Probe ticks in flight (they never reject): close() waits for them. */
  private readonly ticks = new Set<Promise<void>>();
  /** Aborted by close(): no tick starts, and a sweep in flight sends no further request. */
  private readonly closing = new AbortController();

  /** How often at most a backend's /object_info is read again for what routing asks. */
  private get recheckMs(): number {
    return this.options.capabilitiesRecheckMs ?? CAPABILITIES_RECHECK_MS;
  }

  constructor(private readonly options: BackendPoolOptions) {
    this.store = new BackendStore(options.db);
    this.handBackLog = createHandBackLog(options.log);
    // An abandoned prompt that goes on running past its interrupt holds the backend as a job's own would.
    this.abandoned = new AbandonedPrompts(options.db, options.log, { onIgnored: (url, promptId) => this.markStuck(url, promptId), graceMs: options.stopGraceMs });
    this.backends = [...new Set(options.urls)].map((url) => new Backend(url, options.log, (backend) => this.changed(backend), (backend, promptId, stuck, replacing) => this.recordStuck(backend, promptId, stuck, replacing), this.recheckMs));
  }

  /**
   * Restores what earlier runs learned, probes every backend once and records what it found (so a
   * ready orchestrator's backends table already tells every backend's state), then keeps probing.
   */
  async start(): Promise<void> {
    // Not awaited: readiness waits for no read of past attempts; a sweep before it ends finds less to take off.
    this.restoring = this.restoreAbandoned();
    const stored = await this.store.load(this.backends.map((b) => b.id));
    for (const backend of this.backends) {
      const row = stored.get(backend.id);
      if (row) backend.restore(row);
    }
    await Promise.all(this.backends.map((b) => b.check()));
    await Promise.all(this.saving);
    const every = this.options.probeEveryMs ?? DEFAULT_PROBE_MS;
    this.timer = setInterval(() => this.startTick(), every);
    this.timer.unref();
    this.flushTimer = setInterval(() => void this.flushDone(), JOBS_DONE_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** The prompts earlier processes left on configured backends taken for down (as their attempts recorded). */
  private async restoreAbandoned(): Promise<void> {
    try {
      const count = await this.abandoned.restore(this.backends.map((b) => b.url));
      if (count) this.options.log.info('restored prompts abandoned by earlier processes', { count });
    } catch (error) {
      this.options.log.warn('could not restore the prompts earlier processes abandoned', { error: (error as Error).message });
    }
  }

  /** A probe tick, kept until it ends (close() waits for it); none once the pool is closing. */
  private startTick(): void {
    if (this.closing.signal.aborted) return;
    const tick = this.tick().finally(() => this.ticks.delete(tick));
    this.ticks.add(tick);
  }

  private async tick(): Promise<void> {
    await Promise.all([...this.backends.map((b) => b.check()), this.refreshDrain().catch(() => undefined)]);
    // Closed meanwhile: what is left to take off waits for the next process (it restores it from PostgreSQL).
    if (this.closing.signal.aborted) return;
    // Jobs another process handed back for a backend with room here (no place of ours came free there
    // to promote them: this process just started, or has none of its own waiting) come back now.
    if (this.options.shared) for (const backend of this.backends) this.refill(backend.url);
    // A backend stuck on a prompt still answers: our prompts left waiting behind it are taken off at once.
    await Promise.all(this.backends.filter((b) => b.up || b.answeringWhileStuck).map((b) => this.abandoned.sweep(b.url, b.client, this.closing.signal)));
  }

  /**
   * Reads the drain flags as they are now (periodically, on a backend-changes notice, and when a
   * submit was refused because the backend drains): a read already in flight may predate the caller
   * (a drain just committed), so callers arriving meanwhile share one read started after it, never its answer.
   */
  refreshDrain(): Promise<void> {
    if (!this.drainRead) {
      this.drainRead = this.readDrain().finally(() => (this.drainRead = undefined));
      return this.drainRead;
    }
    this.drainReadNext ??= this.drainRead
      .catch(() => undefined)
      .then(() => {
        this.drainReadNext = undefined;
        return this.refreshDrain();
      });
    return this.drainReadNext;
  }

  private async readDrain(): Promise<void> {
    const { draining, stuck } = await this.store.flags();
    let changed = false;
    for (const backend of this.backends) {
      if (backend.draining !== draining.has(backend.id)) {
        backend.draining = draining.has(backend.id);
        changed = true;
      }
    }
    if (changed) {
      this.wakeWaiters();
      this.capacityChanged();
    }
    // Stuck as another orchestrator found it: taken for down here too once ComfyUI's own queue shows
    // the prompt still running (the row may be read just after it let go, before the finding process
    // clears it), until this process's own probe sees ComfyUI no longer run it (a backend it thinks
    // stuck but the row does not is left to its probe as well). One check per record (adoptStuck).
    await Promise.all(
      this.backends.map((backend) => {
        const found = stuck.get(backend.id);
        return found && !backend.stuckPromptId ? backend.adoptStuck(found.promptId, found.since) : undefined;
      }),
    );
  }

  /**
   * Writes (or clears) the prompt a backend is stuck on in its row, for the other orchestrators' next
   * read of the flags; `replacing`, the prompt it was stuck on before (let go of), is replaced in the same statement.
   */
  private recordStuck(backend: Backend, promptId: string, stuck: boolean, replacing?: string): void {
    const since = backend.stuckSince ?? new Date();
    this.writeRow(backend.id, () =>
      (stuck ? this.store.markStuck(backend.id, promptId, since, replacing) : this.store.clearStuck(backend.id, promptId)).catch(
        (error) => void this.options.log.warn('could not record a stuck backend', { backend: backend.url, promptId, stuck, error: (error as Error).message }),
      ),
    );
  }

  /** Runs `write` (which never rejects) once the backend's row writes issued before it have ended: the row ends as the last one issued. */
  private writeRow(id: string, write: () => Promise<void>): void {
    const done: Promise<void> = (this.rowWrites.get(id) ?? Promise.resolve()).then(write).finally(() => {
      this.saving.delete(done);
      if (this.rowWrites.get(id) === done) this.rowWrites.delete(id);
    });
    this.rowWrites.set(id, done);
    this.saving.add(done);
  }

  private changed(backend: Backend): void {
    this.save(backend);
    this.wakeWaiters();
    this.capacityChanged();
    // A backend come back (or taking jobs again) calls for the jobs handed back for it; each probe tops them up too.
    this.refill(backend.url);
  }

  /**
   * How many render jobs to hold at once: (1 + BACKEND_PREFETCH) per backend that is up and not
   * draining, plus the jobs waiting for a backend that cannot take them now (they hold a worker slot
   * but no place): those waiting for a place on a full backend at most as many again as every
   * configured backend's share, those waiting for a backend that is down or draining at most
   * MAX_WAITING_FOR_BACKEND. So jobs that only a full, down or draining backend can run leave the
   * other backends' places to the jobs behind them in the queue, while jobs for a full backend (each
   * takes the next place that comes free there, before any job still in Redis) are taken from the
   * queue only a few ahead, so a job of higher priority that comes later still overtakes what waits
   * there (acquire hands back to Redis the jobs past as many as a full backend has places, so none
   * holds a slot that a job for another backend needs); jobs for a backend down or draining take no
   * place that comes free, however many wait. With no backend taking jobs, every configured backend's
   * share, as ever (each job then waits up to JOB_TIMEOUT_S).
   */
  readonly renderConcurrency: DynamicConcurrency = {
    current: () => {
      const capacity = this.placesPerBackend;
      const configured = Math.max(1, this.backends.length * capacity);
      const usable = this.backends.filter((b) => b.up && !b.draining).length;
      if (!usable) return configured;
      return usable * capacity + Math.min(this.roomWaiters.size, configured) + Math.min(this.waitingForBackend, MAX_WAITING_FOR_BACKEND);
    },
    subscribe: (changed) => {
      this.capacityListeners.add(changed);
      return () => this.capacityListeners.delete(changed);
    },
  };

  /** Prompts of ours one backend may hold at once: the one it runs and BACKEND_PREFETCH waiting. */
  private get placesPerBackend(): number {
    return 1 + (this.options.prefetch ?? 1);
  }

  private capacityChanged(): void {
    for (const listener of [...this.capacityListeners]) listener();
  }

  /** Writes the backend's row when it says something new (every probe calls this), else lastSeenAt now and then. */
  private save(backend: Backend): void {
    const record = backend.record();
    const state = JSON.stringify({ ...record, lastSeenAt: undefined });
    const last = this.saved.get(backend.id);
    if (last && last.state === state && Date.now() - last.at < LAST_SEEN_EVERY_MS) return;
    this.saved.set(backend.id, { state, at: Date.now() });
    // A write already waiting its turn writes this state instead.
    const waiting = this.unsaved.has(backend.id);
    this.unsaved.set(backend.id, record);
    if (waiting) return;
    this.writeRow(backend.id, async () => {
      const latest = this.unsaved.get(backend.id)!;
      this.unsaved.delete(backend.id);
      await this.store.save(latest).catch((error) => {
        this.saved.delete(backend.id);
        this.options.log.warn('could not record backend state', { backend: backend.url, error: (error as Error).message });
      });
    });
  }

  /**
   * Wakes every waiting job, the most urgent first (in arrival order within a rank): each routes again
   * in that order, so a place that just came free goes to an interactive job before the batch jobs
   * that waited longer, not to whichever began waiting first.
   */
  private wakeWaiters(): void {
    // By when each began to wait, not by Map order: a job that looked again on its own timer is
    // registered anew, and would otherwise go behind the jobs that began to wait after it.
    for (const [wake] of [...this.waiters].sort(([, a], [, b]) => a.rank - b.rank || a.since - b.since)) wake();
  }

  /** For /readyz: a service that can reach no backend cannot render anything. */
  assertAnyUp(): void {
    if (this.backends.some((b) => b.up)) return;
    throw new Error(`no ComfyUI backend is up: ${this.backends.map((b) => `${b.url} (${b.lastError ?? 'not answering'})`).join('; ')}`);
  }

  /** Which connection session of the backend this is (see Backend.session); 0 when unknown. */
  sessionOf(url: string): number {
    return this.find(url)?.session ?? 0;
  }

  stateOf(url: string): 'up' | 'down' | 'unconfigured' {
    const backend = this.find(url);
    return !backend ? 'unconfigured' : backend.up ? 'up' : 'down';
  }

  /**
   * Routes a job to a capable backend and holds it. While capable backends exist but none is up
   * (or all drain), it waits without spending a try, until `deadlineAt` (then PromptTimedOutError);
   * when no configured backend can ever run the job, NoCapableBackendError names what is missing.
   * An aborted signal rejects with its reason, before or while it waits; among waiting jobs, a place
   * goes to the lowest `rank` (the job's PRIORITY_RANK) first.
   * A job given `handBackAs` (one that has begun nothing yet) does not wait for a place on full
   * backends for which as many jobs as they have places already wait: it is refused with
   * StageDeferredError, handed back to its queue and promoted once a place there is near, rather
   * than holding a worker slot that a job for another backend needs. A more urgent one (a lower
   * `rank`) takes the wait of the least urgent such job instead, which is handed back in its place.
   * Nor does it take a place to wait for ahead of a job this process handed back that is as urgent
   * and was handed back before it (or more urgent): it is handed back once more and that one is
   * promoted, so a job back on its own delay does not overtake the jobs handed back before it.
   * With the shared lines (BackendPoolOptions.shared), a job that may have been handed back before
   * (`returning`, by default) leaves them as it comes, and the jobs ahead of it are those delayed in
   * them, whichever process handed them back (read once, when it is about to take a place to wait).
   * `handedBackBefore`: how often its queue job may have been handed back before, by any process (its
   * earlier starts): its delay doubles from there, not from the first delay in a process that did not hand it back.
   * `jobId` names the job on its log line.
   */
  async acquire(needs: JobNeeds, options: { deadlineAt: number; signal?: AbortSignal; limitS: number; rank?: number; handBackAs?: string; returning?: boolean; handedBackBefore?: number; jobId?: string }): Promise<BackendLease> {
    const key = options.handBackAs;
    const self: RoomWaiter = { rank: options.rank ?? 0, since: 0, backends: [], key, evicted: false };
    let waiting = false;
    /** Counted in waitingForBackend (no capable backend up and taking jobs). */
    let waitsForBackend = false;
    let rechecked = false;
    let handedBack = false;
    // Handed back by this process, and no place since (as far as its book remembers).
    const handedBackHere = key !== undefined && this.handedBack.timesOf(key) !== undefined;
    if (key) this.handedBack.arrived(key);
    try {
      // Its place in the shared lines, which it leaves: one Redis call, for a job that may have been handed back (a job fresh from the queue is in none).
      const shared = key && options.returning !== false ? await this.arriveShared(key) : undefined;
      const score = shared?.score;
      // Back from a hand-back (by any process): the shared lines tell, when they answered (a job is in
      // them from its hand-back until it comes back), else this process's book. Not the queue job's
      // starts: a retry, a stall or a wait for PostgreSQL start it again too, and its first hand-back
      // after them was taken for a later one (at debug). A hand-back of a job not back from one is news.
      const returned = shared?.answered ? score !== undefined : handedBackHere;
      /** The places of the first delayed jobs in the shared lines of the backends it may wait for, once read. */
      let heads: Map<string, number> | undefined;
      for (;;) {
        // An aborted signal (a cancel, or the worker closing) takes no backend, free or not: nothing is
        // then prepared or uploaded for an attempt that will not run.
        options.signal?.throwIfAborted();
        if (self.evicted) {
          handedBack = true;
          throw this.handBack(self, 'a more urgent job took its wait for a place', score, options.handedBackBefore, !returned);
        }
        // The cached drain flags: a drain they do not show yet is caught by the submit statement itself
        // (BackendDrainingError), so no read is spent per placement.
        const route = routeJob(this.candidates(), needs, { defaultCheckpoint: this.options.defaultCheckpoint, capacity: this.placesPerBackend, turn: this.turn });
        // A checkpoint the job names that no backend is known to have is not failed but falls back to another (routeJob).
        const fallsBack = route.kind === 'run' && needs.loadsCheckpoint !== false && !!needs.checkpoint && route.checkpoint !== needs.checkpoint;
        if ((route.kind === 'none' || fallsBack) && !rechecked) {
          // A model added to a running backend is known only once its /object_info is read again:
          // before failing (or falling back), the backends are read again for what this job needs.
          rechecked = true;
          // A job about to fail asks as often as a read may be made; one that falls back (and renders) far less.
          await untilAborted(this.recheckFor(needs, route.kind === 'none' ? this.recheckMs : FALLBACK_RECHECK_MS), options.signal);
          continue;
        }
        if (route.kind === 'run') {
          this.turn++;
          return this.lease(this.find(route.url)!, route.checkpoint);
        }
        if (route.kind === 'none') throw new NoCapableBackendError(route.message, route.details);
        if (Date.now() >= options.deadlineAt) throw new PromptTimedOutError(`timed out after ${options.limitS} s (JOB_TIMEOUT_S) waiting for a backend: ${route.reason}`);
        // It holds a worker slot but takes no backend's room: another job may take that room.
        if (route.full) {
          const withRoom = this.roomWaiters.has(self) || !key ? [] : route.backends.filter((url) => this.roomToWait(url) > 0);
          if (withRoom.length && this.options.shared && !heads) {
            // About to take a place to wait while every backend it could use is full (a backlog): the
            // lines are read once (one Redis call), and it routes again, as places may have come free meanwhile.
            heads = await this.sharedHeads(withRoom);
            continue;
          }
          if (withRoom.length && (this.options.shared ? this.aheadInSharedLine(heads!, key!, self.rank, withRoom, score) : this.handedBack.hasAhead(key!, self.rank, withRoom))) {
            handedBack = true;
            const error = this.handBack({ ...self, backends: route.backends }, `jobs as urgent handed back before it go first: ${route.reason}`, score, options.handedBackBefore, !returned);
            // The place to wait it leaves is topped up from the jobs handed back, the first of them first.
            for (const url of withRoom) this.refill(url);
            throw error;
          }
          if (!this.roomWaiters.has(self) && key && !this.mayWaitForRoom(route.backends, self.rank)) {
            handedBack = true;
            throw this.handBack({ ...self, backends: route.backends }, `as many jobs already wait for a place as there are places: ${route.reason}`, score, options.handedBackBefore, !returned);
          }
          self.backends = route.backends;
          if (!this.roomWaiters.has(self)) {
            this.roomWaiters.add(self);
            this.capacityChanged();
          }
        } else this.leaveRoomWait(self);
        if (waitsForBackend !== !route.full) {
          waitsForBackend = !route.full;
          this.waitingForBackend += waitsForBackend ? 1 : -1;
          this.capacityChanged();
        }
        if (!waiting) {
          this.options.log.info('job waits for a backend', { jobId: options.jobId, reason: route.reason });
          waiting = true;
          self.since = ++this.arrivals;
        }
        await this.nextChange(Math.min(options.deadlineAt - Date.now(), this.options.probeEveryMs ?? DEFAULT_PROBE_MS), options.signal, self);
      }
    } finally {
      if (waitsForBackend) {
        this.waitingForBackend--;
        this.capacityChanged();
      }
      this.leaveRoomWait(self);
      if (key && !handedBack) this.handedBack.forget(key);
    }
  }

  /** Whether a job of `rank` may wait here for a place on `backends` (all full); a less urgent one it displaces is woken to be handed back. */
  private mayWaitForRoom(backends: string[], rank: number): boolean {
    // Jobs promoted and on their way count as waiting there: the place they come for is theirs.
    const { admitted, evicted } = this.roomWaiters.admit(backends, rank, this.placesPerBackend, (url) => this.handedBack.comingFor(url));
    // Out of the count at once (the job taking its wait is counted instead); it sees it at its next look, now.
    if (evicted) for (const [wake, order] of this.waiters) if (order === evicted) wake();
    return admitted;
  }

  /** The job no longer waits for a place (it got one, waits for something else, or stopped): one handed back may take its turn. */
  private leaveRoomWait(waiter: RoomWaiter): void {
    if (!this.roomWaiters.delete(waiter)) return;
    this.capacityChanged();
    for (const url of waiter.backends) this.refill(url);
  }

  /**
   * The refusal that hands a job back to its queue, delayed (longer each time it is) unless a place
   * near it promotes it first. Once delayed it joins the shared lines of its backends at `score`, the
   * place it had in them (another process handed it back first), else at the place it has here.
   * `before`: how often it may have been handed back before, by any process (its delay doubles from
   * there). `first`: it is not back from a hand-back, so its line is at info (else at debug, counted in
   * the summary a minute).
   */
  private handBack(waiter: RoomWaiter, why: string, score: number | undefined, before: number | undefined, first: boolean): StageDeferredError {
    const key = waiter.key!;
    const delayMs = this.handedBack.handingBack(key, waiter.rank, waiter.backends, score, before);
    const place = this.handedBack.scoreOf(key) ?? score ?? handBackScore(waiter.rank, Date.now());
    return new StageDeferredError(
      `handed back to its queue for ${delayMs} ms at most: ${why}`,
      delayMs,
      (job) => {
        this.handedBack.delayed(key, job);
        // Joined once delayed, never before: a process that finds it in line and not delayed takes it for on its way.
        this.options.shared?.record(key, waiter.backends, place).catch((error) => this.options.log.warn('could not put a handed-back job in the shared line; it comes back on its delay', { jobId: key, error: (error as Error).message }));
        this.handBackLog.handedBack(first, () => ({ waiting: this.handedBack.size, backends: this.handedBack.waitingFor(), longestDelayMs: this.handedBack.longestDelayMs() }));
      },
      first ? 'info' : 'debug',
    );
  }

  /**
   * The job `key` is back: it leaves the shared lines; the place it had in them (none when it was in
   * none), and whether they `answered` (not without them, nor when Redis failed).
   */
  private async arriveShared(key: string): Promise<{ score?: number; answered: boolean }> {
    if (!this.options.shared) return { answered: false };
    try {
      return { score: await this.options.shared.arrived(key), answered: true };
    } catch (error) {
      this.options.log.warn('could not take a job back out of the shared lines of handed-back jobs', { jobId: key, error: (error as Error).message });
      return { answered: false };
    }
  }

  /** The places of the first delayed jobs in the shared lines of `urls` (none known when Redis failed: the job goes on as if none were). */
  private async sharedHeads(urls: string[]): Promise<Map<string, number>> {
    try {
      return await this.options.shared!.heads(urls);
    } catch (error) {
      this.options.log.warn('could not read the shared lines of handed-back jobs', { error: (error as Error).message });
      return new Map();
    }
  }

  /**
   * Whether, when the job `key` came back (or, fresh from the queue, first found room to wait), one of
   * `backends`' shared lines had a delayed job ahead of it (more urgent, or as urgent and handed back
   * before it, by any process): it then goes back, and that one is promoted (refill). The lines know
   * what is delayed, wherever it was promoted; this process's own book would not (HandedBackJobs.hasAhead).
   * Read once: what it found then says nothing of later looks.
   */
  private aheadInSharedLine(heads: Map<string, number>, key: string, rank: number, backends: string[], score: number | undefined): boolean {
    if (!heads.size) return false;
    const own = score ?? this.handedBack.scoreOf(key) ?? handBackScore(rank, Date.now());
    const ahead = backends.some((url) => (heads.get(url) ?? Infinity) < own);
    heads.clear();
    return ahead;
  }

  /**
   * The job `key` ended without coming back for a place (its generation was canceled while it was
   * handed back): it leaves the lines, here and shared, now rather than once a look finds it ended.
   */
  async handedBackEnded(key: string): Promise<void> {
    this.handedBack.forget(key);
    try {
      await this.options.shared?.remove(key);
    } catch (error) {
      // Not the job's failure (the stage's settle awaits this): a job left in a line is dropped once a look reaches it, or with the line.
      this.options.log.warn('could not take an ended job out of the shared lines of handed-back jobs', { jobId: key, error: (error as Error).message });
    }
  }

  /**
   * Promotes as many jobs handed back for `url` as it lacks waiting for a place there (counting those
   * promoted and on their way), once the waits and places of this turn have settled: so each place
   * that comes free there finds a job waiting for it, and no more are brought back than may wait.
   * With the shared lines, the first in the line of `url`, whichever process handed it back.
   */
  private refill(url: string): void {
    if (!this.handedBack.size && !this.options.shared) return;
    if (this.refilling.has(url)) {
      // A top-up from the shared lines in flight counted the room before this change: one more follows it.
      if (this.options.shared) this.refillAgain.add(url);
      return;
    }
    this.refilling.add(url);
    setImmediate(() => void this.topUp(url));
  }

  private async topUp(url: string): Promise<void> {
    try {
      const backend = this.find(url);
      if (this.closing.signal.aborted || !backend?.up || backend.draining) return;
      const room = this.roomToWait(url);
      const shared = this.options.shared;
      if (!shared) return this.handedBack.promoteFor(url, room);
      if (room <= 0) return;
      for (const key of await shared.promoteFor(url, room)) this.handedBack.promotedFrom(url, key);
    } catch (error) {
      this.options.log.warn('could not promote jobs handed back; they come back on their delay', { backend: url, error: (error as Error).message });
    } finally {
      this.refilling.delete(url);
      if (this.refillAgain.delete(url)) this.refill(url);
    }
  }

  /** How many more jobs may wait for a place on `url` (promoted jobs on their way count as waiting). */
  private roomToWait(url: string): number {
    return this.placesPerBackend - this.roomWaiters.countFor(url) - this.handedBack.comingFor(url);
  }

  /**
   * Reads every backend that is up again for what `needs` asks that none is known to have, at most
   * once per `everyMs` for the same needs (jobs asking meanwhile share that read): a character
   * naming a checkpoint no backend has falls back and renders, and would otherwise have every
   * backend's /object_info, megabytes on a large install, read every few seconds for good.
   */
  private recheckFor(needs: JobNeeds, everyMs: number): Promise<void> {
    const key = JSON.stringify([needs.checkpoint ?? null, needs.templateCheckpoint ?? null, [...needs.loras].sort(), [...needs.nodeClasses].sort(), needs.ipAdapter === true]);
    const last = this.needsRechecked.get(key);
    if (last && Date.now() - last.at < everyMs) return last.read;
    if (this.needsRechecked.size >= NEEDS_REMEMBERED) this.needsRechecked.clear();
    const since = Date.now() - this.recheckMs;
    const read = Promise.all(this.backends.filter((b) => b.up).map((b) => b.recheckCapabilities(since))).then(() => undefined);
    this.needsRechecked.set(key, { at: Date.now(), read });
    return read;
  }

  /** The backend a job already runs on, held again (after a restart); null when it is no longer configured. */
  acquireExisting(url: string): BackendLease | null {
    const backend = this.find(url);
    return backend ? this.lease(backend, '') : null;
  }

  /**
   * ComfyUI refused (value_not_in_list) files the backend's capabilities listed when the prompt was
   * routed: a model deleted or renamed while it runs. Its /object_info is read again, once for every
   * job refused meanwhile (unless read since `sentAt`, when the prompt was posted). True when the
   * backend no longer lists one of `files`, so routing the job again does not pick it for them;
   * false when it still does (the refusal stands).
   */
  async modelsRefused(url: string, files: string[], sentAt: number): Promise<boolean> {
    const backend = this.find(url);
    if (!backend || !files.length) return false;
    await backend.recheckCapabilities(sentAt);
    if (!backend.capabilities) return false;
    const listed = modelFilesOf(backend.capabilities);
    return files.some((file) => !listed.has(file));
  }

  /**
   * A prompt of this process went on running past its interrupt there (takePromptOff's 'ignored'):
   * nothing queued behind it runs, so the backend takes no prompt, and the jobs waiting there go
   * elsewhere, until ComfyUI no longer runs it.
   */
  markStuck(url: string, promptId: string): void {
    this.find(url)?.markStuck(promptId);
  }

  /** Whether the backend is taken for down because its worker is stuck on a prompt (markStuck, or another orchestrator's record). */
  isStuck(url: string): boolean {
    return !!this.find(url)?.stuckPromptId;
  }

  /** Whether the backend is down, probing it now (a request to it just failed). */
  async confirmDown(url: string): Promise<boolean> {
    const backend = this.find(url);
    return !backend || !(await backend.check());
  }

  /**
   * The job's prompt stays behind on a backend taken for down while the job goes on (or ends): once
   * the backend is back and the prompt's attempt is over, the prompt is taken off it; a backend
   * stuck ahead of it (`stuck`) answers, so it is taken off at the next probe tick.
   */
  abandon(url: string, jobId: string, promptId: string, stuck = false): void {
    if (this.find(url)) this.abandoned.add(url, jobId, promptId, stuck);
  }

  /** The checkpoint of the prompt last sent there: routing prefers it for jobs using the same one. */
  recordSubmitted(url: string, checkpoint: string): void {
    const backend = this.find(url);
    if (backend && checkpoint) backend.lastCheckpoint = checkpoint;
  }

  /** Counts a finished job; the `backends` row shows it within JOBS_DONE_FLUSH_MS (or at close). */
  recordDone(url: string): void {
    const backend = this.find(url);
    if (backend) this.doneUnflushed.set(backend.id, (this.doneUnflushed.get(backend.id) ?? 0) + 1);
  }

  private async flushDone(): Promise<void> {
    const counts = [...this.doneUnflushed];
    this.doneUnflushed.clear();
    await this.store.countDone(counts).catch((error) => {
      // Kept for the next flush: a counter is not worth failing a job, nor losing.
      for (const [id, count] of counts) this.doneUnflushed.set(id, (this.doneUnflushed.get(id) ?? 0) + count);
      this.options.log.warn('could not record finished jobs of backends', { backends: counts.map(([id]) => id), error: (error as Error).message });
    });
  }

  /** Each backend's state and how full this process keeps it, for the metrics. */
  snapshot(): { url: string; state: 'up' | 'draining' | 'down'; inFlight: number; capacity: number; stuck: boolean }[] {
    const capacity = this.placesPerBackend;
    return this.backends.map((b) => ({ url: b.url, state: !b.up ? 'down' : b.draining ? 'draining' : 'up', inFlight: b.inFlight, capacity, stuck: b.stuckPromptId !== undefined }));
  }

  /** The clientIds the backends' sockets use now (this process's prompts are sent under them). */
  clientIds(): string[] {
    return this.backends.map((b) => b.client.clientId);
  }

  /** Prompts this process drives on the backend right now. */
  load(url: string): number {
    return this.find(url)?.inFlight ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.flushTimer);
    this.closing.abort();
    // Before the sockets close (a probe in flight may dial one again), and before the service
    // disconnects PostgreSQL: a sweep in flight ends at its next step, once its request is answered.
    await within(Promise.all(this.ticks), CLOSE_WAIT_MS);
    await this.flushDone();
    this.wakeWaiters();
    for (const backend of this.backends) backend.close();
    // Last: a read held by a silent database (up to its query timeout) must not keep the sockets open.
    await this.restoring;
  }

  private find(url: string): Backend | undefined {
    return this.backends.find((b) => b.url === url);
  }

  private candidates(): RouteCandidate[] {
    return this.backends.map((b) => ({
      url: b.url,
      up: b.up,
      draining: b.draining,
      capabilities: b.capabilities,
      // Given up on only past the grace: a ComfyUI slower to start than its peers is waited for.
      unreachable: b.unreachableFor(this.options.unreachableGraceMs ?? DEFAULT_UNREACHABLE_GRACE_MS),
      // Our own prompts only: ComfyUI's queue_remaining lags its take/finish of them, and a
      // backend that looked full a moment too long left the other to take every job (pnpm bench).
      load: b.inFlight,
      lastCheckpoint: b.lastCheckpoint,
    }));
  }

  private lease(backend: Backend, checkpoint: string): BackendLease {
    backend.inFlight++;
    let released = false;
    return {
      url: backend.url,
      client: backend.client,
      checkpoint,
      capabilities: backend.capabilities,
      lost: backend.lost,
      release: () => {
        if (released) return;
        released = true;
        backend.inFlight--;
        // A job waiting because every capable backend was full takes the freed place now, not at the next probe.
        this.wakeWaiters();
        this.refill(backend.url);
      },
    };
  }

  /**
   * Resolves at the next backend change or after `ms`; rejects with the signal's reason once it is
   * aborted (a cancel, a shutdown), at once if it already is: a job waiting for a backend stops then.
   */
  private nextChange(ms: number, signal: AbortSignal | undefined, order: { rank: number; since: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const settle = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', aborted);
      };
      const done = () => {
        settle();
        resolve();
      };
      // Rejected, not resolved: resolving first (as once) made the abort a mere wake-up, and the
      // job went on waiting, with a signal already aborted, until a backend came or JOB_TIMEOUT_S.
      const aborted = () => {
        settle();
        reject(signal!.reason);
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.set(done, order);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/** `work`'s result, or the signal's reason once it is aborted (a cancel, a shutdown): the work itself goes on for whoever shares it. */
function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise((resolve, reject) => {
    const aborted = () => reject(signal.reason);
    if (signal.aborted) return aborted();
    signal.addEventListener('abort', aborted, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', aborted));
  });
}
