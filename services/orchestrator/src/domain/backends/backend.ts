import { setMaxListeners } from 'node:events';
import { ComfyClient, ComfyUnreachableError, readableQueue } from '@anime/comfyui-client';
import type { Logger } from '@anime/logger';
import { backendIdFor } from './backend-id';
import { BackendLostError } from './backend-lost-error';
import { fetchCapabilities, type BackendCapabilities } from './capabilities';
import { runningPrompt } from './running-prompt';
import type { BackendRecord } from './backend-store';

/** A probe must answer fast: a dead backend is to be noticed within ~10 s (two failed probes 2 s apart). */
const PROBE_TIMEOUT_MS = 2_000;
/** Capabilities change when someone installs a model or node pack: asked again this often. */
const CAPABILITIES_REFRESH_MS = 5 * 60_000;
/**
 * Reads routing asks for (a model ComfyUI refused, a job no backend is known to be able to run) come
 * at most this often per backend, however many jobs ask: a caller waits out the rest of the period.
 */
export const CAPABILITIES_RECHECK_MS = 5_000;
/** A probe timing out once can be a busy event loop; twice (or a closed socket too) is down. */
const FAILURES_TO_DOWN = 2;
/**
 * Probes that time out take the backend down only once its (open) socket has been silent this long
 * too: ComfyUI answers /system_stats on its event loop, asking torch for the device's memory there,
 * which can take seconds while a checkpoint loads or a node holds the GIL, though its prompt goes on
 * and sends progress. A frozen ComfyUI is taken for down at most a probe or two (2-4 s) later than by
 * the probes alone; a closed socket, or a probe refused, reset or answered with a 5xx, as before.
 *
 * Only frames to this process's sockets are heard: ComfyUI sends a prompt's events to the client that
 * queued it, and `status` only when its queue changes. While another client's prompt runs there (another
 * orchestrator sharing the ComfyUI), ours wait silent; so a silent socket is not taken for a frozen
 * ComfyUI either until its GET /queue (which asks torch nothing) fails to name a running prompt
 * within the probe's timeout too.
 */
export const SOCKET_SILENCE_TO_DOWN_MS = 5_000;

/**
 * One ComfyUI backend: the long-lived client jobs use, its health from /system_stats probes and
 * the WebSocket's state, and its cached capabilities. Going down aborts `lost`, which every job
 * following a prompt there listens to.
 */
export class Backend {
  readonly id: string;
  readonly client: ComfyClient;
  /** Its own client: short timeouts, and never queued behind a job's slow request. */
  private readonly probe: ComfyClient;
  up = false;
  draining = false;
  capabilities: BackendCapabilities | null = null;
  capabilitiesAt: Date | null = null;
  inFlight = 0;
  /**
   * ComfyUI's queue_remaining as its last answering probe saw it; 0 once a probe fails and it is
   * down: what a backend that does not answer holds is not known (a restarted ComfyUI has lost its
   * queue), and the row must not go on telling work that is not known to be there. A backend down
   * because it is stuck answers still, and tells its queue as it is.
   */
  queueDepth = 0;
  lastCheckpoint: string | null = null;
  lastError: string | null = null;
  lastSeenAt: Date | null = null;
  /**
   * Why its last probe got no answer (refused, timed out, a read that failed), undefined since one
   * answered and before the first ends: routing tells a dead URL from one it has not asked yet.
   */
  unreachableBecause: string | undefined;
  /**
   * When the probe that began its present run of failed probes started (epoch ms), undefined while it
   * answers and before its first probe ends: since when it has not answered (never, since this process
   * started, if it never has). Routing gives up on a backend whose models are unknown only once this
   * is at least BACKEND_UNREACHABLE_GRACE_S ago, so a ComfyUI slower to start than its peers is waited for.
   */
  failingSince: number | undefined;
  /**
   * Grows each time the socket (re)opens or the backend comes back up: a restarted ComfyUI may have
   * lost its input/ folder, so what was checked there in an earlier session is checked again.
   */
  session = 0;
  private failures = 0;
  /** The last probe got no answer in time (not refused, reset nor a 5xx): the next may be the one that decides. */
  private lastProbeTimedOut = false;
  /**
   * A prompt that went on running past its interrupt (a node that does not return, a dead worker
   * thread: comfyui-protocol.md §10): nothing queued behind it runs, so the backend is taken for down,
   * though it answers, until ComfyUI no longer runs it (it ended, or ComfyUI was restarted).
   */
  private stuckOn: { promptId: string; since: Date } | undefined;
  /**
   * The last prompt this process saw ComfyUI let go of after it was stuck on it: a read of the rows
   * made before its clearing was committed (this process's or another's) still names it, and is not
   * taken for the backend stuck again.
   */
  private letGoOf: string | undefined;
  /** The check of another orchestrator's stuck record in flight (adoptStuck), which callers meanwhile share. */
  private adopting: { promptId: string; check: Promise<void> } | undefined;
  private lostController = lostSignalController();
  private checking: Promise<boolean> | undefined;
  /** The /object_info read in flight, which every caller meanwhile shares. */
  private reading: Promise<void> | undefined;
  /** The read routing asked for (recheckCapabilities), waiting out CAPABILITIES_RECHECK_MS or in flight; it never rejects. */
  private rechecking: Promise<void> | undefined;
  private recheckedAt = 0;
  /** Closed with its pool: a read routing asked for and still waiting its turn is not sent. */
  private closed = false;

  constructor(
    readonly url: string,
    private readonly log: Logger,
    private readonly onChange: (backend: Backend) => void,
    /**
     * It was found stuck on a prompt here (`stuck`; `replacing` the prompt it was stuck on before, or last saw let go of), or
     * the prompt it was stuck on ended: for the other orchestrators to learn.
     */
    private readonly onStuck: (backend: Backend, promptId: string, stuck: boolean, replacing?: string) => void = () => undefined,
    /** How often at most a read routing asks for is made (CAPABILITIES_RECHECK_MS). */
    private readonly recheckEveryMs = CAPABILITIES_RECHECK_MS,
  ) {
    this.id = backendIdFor(url);
    this.client = new ComfyClient({ baseUrl: url, log });
    this.probe = new ComfyClient({ baseUrl: url, requestTimeoutMs: PROBE_TIMEOUT_MS });
    // A killed ComfyUI closes the socket at once: probe now rather than at the next tick.
    this.client.onConnectionChange((state) => {
      if (state === 'open') this.session++;
      if (state === 'closed' && this.up) void this.check();
    });
  }

  /** Aborted when the backend goes down; a new signal once it is up again. */
  get lost(): AbortSignal {
    return this.lostController.signal;
  }

  restore(stored: { capabilities: BackendCapabilities | null; capabilitiesAt: Date | null; lastCheckpoint: string | null; draining: boolean; stuck: { promptId: string; since: Date } | null }): void {
    this.capabilities = stored.capabilities;
    this.capabilitiesAt = stored.capabilitiesAt;
    this.lastCheckpoint = stored.lastCheckpoint;
    this.draining = stored.draining;
    // Checked by the first probe: ComfyUI may have let go (or restarted) since.
    this.stuckOn = stored.stuck ?? undefined;
  }

  /**
   * Why it does not answer, once it has been down for that for at least `graceMs` (failingSince):
   * undefined while it is up, before its first probe ends, or within the grace.
   */
  unreachableFor(graceMs: number, now = Date.now()): string | undefined {
    return !this.up && this.failingSince !== undefined && now - this.failingSince >= graceMs ? this.unreachableBecause : undefined;
  }

  /** Probes once (concurrent callers share it); resolves with whether it is up. */
  check(): Promise<boolean> {
    this.checking ??= this.probeOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /**
   * The prompt went on running past its interrupt: the backend is taken for down (the jobs whose
   * prompts wait behind it there go to another backend) until the prompt no longer runs.
   *
   * Seen here while taken for stuck on another prompt: ComfyUI runs one prompt at a time, so the one
   * it was stuck on is let go of and this one holds the worker now (a second hang). It replaces the
   * first, here and in the row, or the probe would take the backend for up once the first is gone
   * though the second still holds it. Another orchestrator's record never replaces what this process holds.
   */
  markStuck(promptId: string, { seenHere = true, since = new Date() }: { seenHere?: boolean; since?: Date } = {}): void {
    if (this.stuckOn?.promptId === promptId || (this.stuckOn && !seenHere) || (!seenHere && promptId === this.letGoOf)) return;
    const replacing = this.stuckOn?.promptId;
    if (replacing) {
      this.log.warn('backend stuck on another prompt: ComfyUI let go of the first', { backend: this.url, promptId, replacing });
      this.letGoOf = replacing;
    }
    // Found here: since now. Read from the row another orchestrator wrote: since when it found it, so
    // every orchestrator tells (and times) the same.
    this.stuckOn = { promptId, since };
    this.lastError = this.stuckMessage();
    this.setUp(false, this.lastError);
    // Replaces in the row the prompt this process last saw ComfyUI let go of (`replacing`, just set,
    // or one whose record outlived its hang: its finder stopped before clearing it, or the clearing
    // failed), or the row, still naming that one, would refuse this one and the other orchestrators
    // would go on sending prompts to a backend nothing leaves.
    if (seenHere) this.onStuck(this, promptId, true, this.letGoOf);
  }

  /**
   * Another orchestrator recorded the backend stuck on `promptId` (the shared row), which this process
   * has not seen: its read of the row may come just after ComfyUI let go of it (the finding process
   * clears the row only at its next probe). Taken for down only once ComfyUI's own queue shows that
   * prompt still running (or cannot tell, as the record says): else the leases here would be aborted
   * and their healthy prompts taken off for nothing. One check per record: callers meanwhile share it,
   * and one that found it let go of is not made again (letGoOf), nor one once it is taken for stuck.
   */
  adoptStuck(promptId: string, since: Date): Promise<void> {
    if (this.stuckOn || promptId === this.letGoOf) return Promise.resolve();
    if (this.adopting?.promptId === promptId) return this.adopting.check;
    const check = this.runs(promptId)
      .then((runs) => {
        if (runs !== false) return this.markStuck(promptId, { seenHere: false, since });
        this.log.info('a stuck record names a prompt ComfyUI no longer runs: the backend is not taken for down', { backend: this.url, promptId });
        this.letGoOf = promptId;
      })
      .finally(() => {
        if (this.adopting?.check === check) this.adopting = undefined;
      });
    this.adopting = { promptId, check };
    return check;
  }

  /** The prompt its worker is stuck on, if it is. */
  get stuckPromptId(): string | undefined {
    return this.stuckOn?.promptId;
  }

  /** Since when it is stuck on that prompt, if it is. */
  get stuckSince(): Date | undefined {
    return this.stuckOn?.since;
  }

  /** Whether it answers though taken for down, stuck on a prompt (what it still holds of ours can be taken off). */
  get answeringWhileStuck(): boolean {
    return !!this.stuckOn && this.failures === 0;
  }

  private stuckMessage(): string {
    const { promptId, since } = this.stuckOn!;
    return `ComfyUI's worker is stuck: prompt ${promptId} went on running after it was interrupted (since ${since.toISOString()}); no prompt is sent there until it ends or ComfyUI is restarted`;
  }

  /** Whether ComfyUI still runs the prompt it is stuck on; one it cannot tell of (runs) is taken for yes, till the next probe. */
  private async stillStuck(promptId: string): Promise<boolean> {
    return (await this.runs(promptId)) !== false;
  }

  /**
   * Whether ComfyUI runs the prompt now, from /queue's running part; undefined when it cannot tell.
   * A /queue it cannot read (past the client's bound: a busy server, or failed) is not taken for
   * "running": the prompt's history is asked instead, a small answer ComfyUI writes once its worker
   * is done with a prompt (ended, failed or interrupted), so an entry there means it was let go of.
   * Without one it runs still, or ComfyUI restarted (both lost): which cannot be told, so undefined.
   */
  private async runs(promptId: string): Promise<boolean | undefined> {
    const queue = await readableQueue(this.probe).catch(() => undefined);
    if (queue) return queue.running.some((item) => item.promptId === promptId);
    const ended = await this.probe.history(promptId).then(
      (entry) => !!entry,
      () => false,
    );
    return ended ? false : undefined;
  }

  private async probeOnce(): Promise<boolean> {
    // Asked alongside the probe, not after it: a frozen ComfyUI is not given the /queue's timeout on top of the probe's.
    const running = this.queueAskedAlongside() ? runningPrompt(this.probe) : undefined;
    const startedAt = Date.now();
    try {
      await this.probe.systemStats();
      this.unreachableBecause = undefined;
      this.failures = 0;
      this.lastProbeTimedOut = false;
      this.lastSeenAt = new Date();
      if (this.stuckOn) {
        const { promptId } = this.stuckOn;
        const still = await this.stillStuck(promptId);
        // Replaced while /queue was read (a second hang, markStuck): it is stuck on that one now.
        if (this.stuckOn && (still || this.stuckOn.promptId !== promptId)) {
          this.failingSince = undefined;
          // It answers: its queue is known (the stuck prompt, and what waits behind it). One it cannot read keeps the last seen.
          this.queueDepth = this.client.queueRemainingFromSocket ?? (await this.probe.queueRemaining().catch(() => this.queueDepth));
          this.lastError = this.stuckMessage();
          this.setUp(false, this.lastError);
          return false;
        }
        if (this.stuckOn) {
          this.log.info('backend no longer stuck: ComfyUI let go of the prompt', { backend: this.url, promptId });
          this.onStuck(this, promptId, false);
          this.letGoOf = promptId;
          this.stuckOn = undefined;
        }
      }
      if (!this.up) {
        // Refreshed on every return to up: the backend may have restarted with other models.
        await this.refreshCapabilities();
        await this.reconnect();
      } else if (!this.capabilitiesAt || Date.now() - this.capabilitiesAt.getTime() > CAPABILITIES_REFRESH_MS) {
        // Now and then while up, in the background: a slow /object_info says nothing about health.
        this.refreshCapabilities().catch((error) => this.log.warn('could not refresh backend capabilities', { backend: this.url, error: (error as Error).message }));
      }
      this.queueDepth = this.client.queueRemainingFromSocket ?? (await this.probe.queueRemaining());
      // Answered in full (a backend answering /system_stats whose /object_info fails goes on failing).
      this.failingSince = undefined;
      // Found stuck while this probe awaited (an interrupt ignored, another orchestrator's record):
      // it stays down until a probe sees ComfyUI let go.
      if (this.stuckOn) return false;
      this.lastError = null;
      this.setUp(true, 'answering');
    } catch (error) {
      this.failures++;
      this.lastProbeTimedOut = error instanceof ComfyUnreachableError && error.timedOut;
      const failure = (this.lastError = (error as Error).message);
      this.unreachableBecause = failure;
      this.failingSince ??= startedAt;
      const busy = this.up && this.client.connected && this.failures >= FAILURES_TO_DOWN && this.lastProbeTimedOut ? await this.workingThough(running) : undefined;
      // Connected still: a socket closed while /queue was asked is a ComfyUI gone.
      if (busy && this.up && this.client.connected) {
        // Up still, and recorded so: an operator sees why its probes fail.
        if (this.failures === FAILURES_TO_DOWN) this.log.warn('backend slow to answer its probe, though it works: taken for busy, not down', { backend: this.url, error: failure, busy });
        this.lastError = `${failure}; ${busy}: busy, not down`;
        this.onChange(this);
      } else if (this.up && (this.failures >= FAILURES_TO_DOWN || !this.client.connected)) {
        this.queueDepth = 0;
        this.setUp(false, failure);
      } else if (!this.up) {
        this.queueDepth = 0;
        this.onChange(this);
      }
    }
    return this.up;
  }

  /**
   * The probe about to start decides, should it time out too (the last one did), and by then the
   * socket will have been silent past SOCKET_SILENCE_TO_DOWN_MS: /queue is asked meanwhile, so at
   * most one /queue per probe, and only after a probe timed out.
   */
  private queueAskedAlongside(): boolean {
    return this.up && this.client.connected && this.lastProbeTimedOut && this.failures + 1 >= FAILURES_TO_DOWN && Date.now() + PROBE_TIMEOUT_MS - this.client.lastFrameAt > SOCKET_SILENCE_TO_DOWN_MS;
  }

  /**
   * Why a backend whose probe got no answer in time (not refused, reset nor a 5xx) works though: its
   * socket delivered a frame within SOCKET_SILENCE_TO_DOWN_MS, or else its /queue (`running`, asked
   * alongside the probe; now if it was not) names a prompt running. Undefined when neither.
   */
  private async workingThough(running: Promise<string | undefined> | undefined): Promise<string | undefined> {
    if (Date.now() - this.client.lastFrameAt <= SOCKET_SILENCE_TO_DOWN_MS) return `its WebSocket delivered events within the last ${SOCKET_SILENCE_TO_DOWN_MS / 1000} s`;
    const promptId = await (running ?? runningPrompt(this.probe));
    return promptId === undefined ? undefined : `its socket silent, GET /queue answered with prompt ${promptId} running`;
  }

  /** One /object_info read at a time: a caller while one is in flight shares it. */
  private refreshCapabilities(): Promise<void> {
    this.reading ??= this.readCapabilities().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readCapabilities(): Promise<void> {
    // Stamped first, so a slow answer is not asked for again by the next probes.
    this.capabilitiesAt = new Date();
    // The job client: a full /object_info can take seconds on a large install.
    this.capabilities = await fetchCapabilities(this.client);
  }

  /**
   * Capabilities from an /object_info read started at `since` (epoch ms) or later: ComfyUI refused
   * a model they list, or a job needs what no backend is known to have. A read that recent (or one
   * in flight) is used as it is; else one is made, shared by every caller meanwhile, at most one per
   * CAPABILITIES_RECHECK_MS. A failed read leaves the capabilities as they were.
   */
  async recheckCapabilities(since: number): Promise<void> {
    for (;;) {
      await this.reading?.catch(() => undefined);
      await this.rechecking;
      if (this.closed || (this.capabilitiesAt?.getTime() ?? 0) >= since) return;
      this.rechecking ??= this.recheckOnce().finally(() => (this.rechecking = undefined));
    }
  }

  private async recheckOnce(): Promise<void> {
    const wait = this.recheckedAt + this.recheckEveryMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
    if (this.closed) return;
    this.recheckedAt = Date.now();
    try {
      await this.refreshCapabilities();
      // Recorded at once, and jobs waiting to learn of a capable backend route again.
      this.onChange(this);
    } catch (error) {
      this.log.warn('could not refresh backend capabilities', { backend: this.url, error: (error as Error).message });
    }
  }

  /** The socket of a backend that was down may sit in a long backoff: dial now. */
  private async reconnect(): Promise<void> {
    if (this.client.connected) return;
    this.client.close();
    await this.client.connect().catch((error) => this.log.warn('comfyui socket did not open', { backend: this.url, error: (error as Error).message }));
  }

  private setUp(up: boolean, reason: string): void {
    const changed = up !== this.up;
    this.up = up;
    if (changed) {
      this.log[up ? 'info' : 'warn'](`backend ${up ? 'up' : 'down'}`, { backend: this.url, reason });
      if (up) {
        this.lostController = lostSignalController();
        this.session++;
      }
      else this.lostController.abort(new BackendLostError(this.url, reason, !!this.stuckOn));
    }
    this.onChange(this);
  }

  record(): BackendRecord {
    const { id, url, up, capabilities, capabilitiesAt, inFlight, queueDepth, lastCheckpoint, lastError, lastSeenAt } = this;
    return { id, url, up, capabilities, capabilitiesAt, inFlight, queueDepth, lastCheckpoint, lastError, lastSeenAt };
  }

  close(): void {
    this.closed = true;
    this.client.close();
  }
}

/** `lost` is listened to by every job following a prompt on the backend, however many (no listener-count warning). */
function lostSignalController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
