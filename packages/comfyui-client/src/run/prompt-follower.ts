import { ComfyExecutionError } from '../errors/comfy-execution-error';
import { isAnswerTooLarge } from '../errors/comfy-http-error';
import { ComfyInterruptedError } from '../errors/comfy-interrupted-error';
import { ComfyPromptLostError } from '../errors/comfy-prompt-lost-error';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';
import type { ComfyMessage } from '../socket/comfy-message';
import type { ApiPrompt, ClientLogger, FollowOptions, HistoryEntry, ProgressEvent, QueueState, RunResult } from '../types';
import { settleFromHistory, UNNAMEABLE } from './read-history';

export interface FollowerDeps {
  subscribe(listener: (message: ComfyMessage) => void): () => void;
  history(promptId: string): Promise<HistoryEntry | undefined>;
  queue(): Promise<QueueState>;
  cancel(promptId: string): Promise<void>;
  /** Whether the socket is open now (its events then wake the follower as soon as anything happens). */
  socketOpen?(): boolean;
  log: ClientLogger;
}

/** Right after a terminal event, history is polled this fast, for this long (it lags execution_success). */
const FAST_POLL_MS = 50;
const HISTORY_GRACE_MS = 5_000;
/** Every this many slow polls, /queue is checked so a deleted prompt doesn't leave us waiting forever. */
const QUEUE_CHECK_EVERY = 5;
const CALLBACK_DRAIN_MS = 10_000;

type Hint = { kind: 'done' | 'success' } | { kind: 'error' | 'interrupted'; data: Record<string, any> };

/** The longest node id a progress tick may name (ComfyUI's are short: "3", "12:5:7" in subgraphs). */
const MAX_NODE_ID_CHARS = 256;
/** The largest step count a tick may report (the job's row keeps it as a 32-bit integer). */
const MAX_STEPS = 2_147_483_647;

/**
 * A `progress` message's step as ComfyUI sends it: whole numbers 0 ≤ value ≤ max, max ≥ 1, and a
 * node id. Anything else (text, NaN, negative, max 0, a value past max, an object as node, a node id
 * with NUL or a lone surrogate) is not a step of a sampler: undefined, and the message is dropped.
 */
function progressStep(data: Record<string, any>): { node: string; value: number; max: number } | undefined {
  const { value, max, node } = data;
  if (typeof value !== 'number' || typeof max !== 'number' || !Number.isFinite(value) || !Number.isFinite(max)) return undefined;
  if (max < 1 || max > MAX_STEPS || value < 0 || value > max) return undefined;
  if (node !== null && node !== undefined && typeof node !== 'string' && typeof node !== 'number') return undefined;
  const id = String(node);
  if (id.length > MAX_NODE_ID_CHARS || UNNAMEABLE.test(id)) return undefined;
  return { node: id, value: Math.floor(value), max: Math.floor(max) };
}

/**
 * Follows one prompt to its end through two channels: socket events (fast, but lost on a
 * disconnect) and /history polling (the source of truth). Subscribe by constructing it before the
 * prompt is posted, so a prompt that finishes instantly is not missed.
 */
export class PromptFollower {
  private readonly unsubscribes: (() => void)[];
  private hint: Hint | undefined;
  /** The kinds of terminal event that have woken the follower: each does once. */
  private readonly wokenBy = new Set<Hint['kind']>();
  /** When the standing hint was first given: its grace counts from there, however often the server repeats it. */
  private hintAt = 0;
  /**
   * A terminal event's grace ran out with the prompt still running or pending (a server repeating
   * `executing {node: null}`, an ExecutionBlocker's error whose run went on): later terminal events are kept for
   * their details, but no longer taken to mean history is due, to be asked for at once and fast.
   */
  private hintsMisled = false;
  private started = false;
  private callbacks: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  /** With latestProgressOnly: the tick whose onProgress call is queued and not started yet. */
  private queuedTick: ProgressEvent | undefined;
  private justPosted = false;
  private number: number | undefined;
  /** /queue answered more than is ever read (a busy server's queue of large graphs): it is not asked again. */
  private queueUnreadable = false;

  constructor(
    private readonly deps: FollowerDeps,
    private promptId: string,
    private readonly options: FollowOptions = {},
    private readonly prompt?: ApiPrompt,
  ) {
    this.unsubscribes = [deps.subscribe((message) => this.onMessage(message))];
  }

  /** Also takes the prompt's events from `source`: a socket under the clientId it was sent with (ClientIdWatch). */
  alsoListenTo(source: { onMessage(listener: (message: ComfyMessage) => void): () => void }): void {
    this.unsubscribes.push(source.onMessage((message) => this.onMessage(message)));
  }

  /** An old server that ignored our prompt_id: follow the id it chose. */
  retarget(promptId: string): void {
    this.promptId = promptId;
  }

  /**
   * The queue number POST /prompt gave the prompt, which its history entry repeats (`prompt[0]`).
   * A server that reuses ids (prompt_id is not checked for uniqueness; one that ignores ours may hand
   * out one already used) keeps an earlier prompt's entry under the id until ours ends: an entry with
   * another number is that earlier prompt's, and its outputs are not ours.
   */
  expectNumber(number: number): void {
    if (Number.isFinite(number)) this.number = number;
  }

  private isOurs(entry: HistoryEntry): boolean {
    const number = Array.isArray(entry.prompt) ? entry.prompt[0] : undefined;
    if (this.number === undefined || typeof number !== 'number' || number === this.number) return true;
    this.deps.log.debug('comfyui history holds an earlier prompt under this id; waiting for ours', { promptId: this.promptId, number, expected: this.number });
    return false;
  }

  dispose(): void {
    for (const unsubscribe of this.unsubscribes) unsubscribe();
  }

  /**
   * Resolves once the prompt ended. `justPosted`: we posted it a moment ago, so with the socket open
   * the first look waits for its events (or the poll interval) instead of asking /history and
   * /queue about a prompt that has surely not finished: two requests fewer per prompt.
   */
  async result(options: { justPosted?: boolean } = {}): Promise<RunResult> {
    this.justPosted = !!options.justPosted;
    try {
      return await this.settle();
    } finally {
      await this.drainCallbacks();
    }
  }

  private async settle(): Promise<RunResult> {
    const { signal } = this.options;
    if (!signal) return this.loop();
    // Aborted while the prompt was being posted (its first progress can arrive before the POST's
    // answer): the prompt is on the server all the same, so it is taken off as on a later abort.
    if (signal.aborted) {
      this.takeOff();
      throw signal.reason;
    }
    let onAbort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.wake?.();
        this.takeOff();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.loop(signal), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** On abort, unless the caller takes the prompt off itself (cancelOnAbort false). */
  private takeOff(): void {
    if (this.options.cancelOnAbort === false) return;
    this.deps.cancel(this.promptId).catch((error) => this.deps.log.warn('could not cancel comfyui prompt', { promptId: this.promptId, error: (error as Error).message }));
  }

  private async loop(signal?: AbortSignal): Promise<RunResult> {
    const pollMs = this.options.pollIntervalMs ?? 1_000;
    const unreachableMs = this.options.unreachableTimeoutMs ?? 60_000;
    let unreachableSince: number | undefined;
    if (this.justPosted && !this.hint && this.deps.socketOpen?.()) await this.sleep(pollMs);
    for (let tick = 0; !signal?.aborted; tick++) {
      try {
        const settled = await this.check(tick);
        unreachableSince = undefined;
        if (settled) return settled;
      } catch (error) {
        if (!(error instanceof ComfyUnreachableError)) throw error;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > unreachableMs) throw error;
        this.deps.log.warn('comfyui unreachable while following a prompt', { promptId: this.promptId, error: error.message });
      }
      await this.sleep(this.hint && !this.hintsMisled ? FAST_POLL_MS : pollMs);
    }
    // The abort handler rejects the race; this value is never seen.
    return new Promise<never>(() => undefined);
  }

  /** One round: history first; failing that, the queue now and then, or the terminal event once history is overdue. */
  private async check(tick: number): Promise<RunResult | undefined> {
    const entry = await this.deps.history(this.promptId);
    if (entry && this.isOurs(entry)) return settleFromHistory(this.promptId, entry);
    const overdue = this.hint !== undefined && Date.now() - this.hintAt > HISTORY_GRACE_MS;
    if (!overdue && tick % QUEUE_CHECK_EVERY !== 0) return undefined;

    const queue = await this.readableQueue();
    if (!queue) {
      // Nothing to tell a deleted prompt by: history and the socket's events go on deciding (and the
      // caller's own deadline bounds the wait); once a terminal event is overdue, it decides.
      if (!overdue) return undefined;
    } else if (queue.running.some((item) => item.promptId === this.promptId)) {
      this.markStarted();
      // Still running after a terminal-looking event: an ExecutionBlocker error lets the run go on.
      if (overdue) this.misledByHints();
      return undefined;
    } else if (queue.pending.some((item) => item.promptId === this.promptId)) {
      // Not even started after a terminal-looking event (a broken server's): it misled as well, or
      // /history and /queue would be asked every 50 ms until the job's timeout.
      if (overdue) this.misledByHints();
      return undefined;
    }
    // History is written before the prompt leaves the queue, so look once more before calling it lost.
    const late = await this.deps.history(this.promptId);
    if (late && this.isOurs(late)) return settleFromHistory(this.promptId, late);
    if (this.hint?.kind === 'error') throw new ComfyExecutionError(this.promptId, this.hint.data);
    if (this.hint?.kind === 'interrupted') throw new ComfyInterruptedError(this.promptId, this.hint.data);
    throw new ComfyPromptLostError(this.promptId, this.hint ? 'finished but has no history entry' : 'is neither queued, running nor in history');
  }

  /**
   * /queue, or undefined once it answered more than ComfyHttp reads (every pending prompt's graph
   * and extra_data, the UI's whole workflow among them, can pass 64 MiB on a busy shared server):
   * the prompt is then followed without it rather than failed, and it is not fetched again.
   */
  private async readableQueue(): Promise<QueueState | undefined> {
    if (this.queueUnreadable) return undefined;
    try {
      return await this.deps.queue();
    } catch (error) {
      if (!isAnswerTooLarge(error)) throw error;
      this.withoutQueue(error.message);
      return undefined;
    }
  }

  /** /queue is too large to read (`why`): the prompt is followed by its history and events alone. */
  withoutQueue(why: string): void {
    if (this.queueUnreadable) return;
    this.queueUnreadable = true;
    this.deps.log.warn('comfyui /queue is too large to read; following the prompt by its history and events alone', { promptId: this.promptId, error: why });
  }

  private onMessage({ type, data }: ComfyMessage): void {
    if (data.prompt_id !== this.promptId) return;
    switch (type) {
      case 'execution_start':
      case 'execution_cached':
        this.markStarted();
        break;
      case 'executing':
        if (data.node === null) this.setHint({ kind: 'done' });
        else {
          this.markStarted();
          if (this.hint?.kind === 'error') this.hint = undefined;
        }
        break;
      case 'progress': {
        this.markStarted();
        const step = progressStep(data);
        // Numbers no sampler reports (text, NaN, max 0, past max…) would reach every subscriber and the job's row.
        if (!step) break;
        const tick: ProgressEvent = {
          promptId: this.promptId,
          node: step.node,
          classType: this.prompt?.[step.node]?.class_type,
          value: step.value,
          max: step.max,
        };
        if (!this.options.latestProgressOnly) {
          this.callback('onProgress', () => this.options.onProgress?.(tick));
          break;
        }
        // A tick already waiting its turn takes this newer value instead of a second call.
        const waiting = this.queuedTick !== undefined;
        this.queuedTick = tick;
        if (waiting) break;
        this.callback('onProgress', () => {
          const latest = this.queuedTick!;
          this.queuedTick = undefined;
          return this.options.onProgress?.(latest);
        });
        break;
      }
      case 'execution_success':
        this.setHint({ kind: 'success' });
        break;
      case 'execution_error':
        this.setHint({ kind: 'error', data });
        break;
      case 'execution_interrupted':
        this.setHint({ kind: 'interrupted', data });
        break;
    }
  }

  /** A terminal event's grace ran out with the prompt still queued: see hintsMisled. */
  private misledByHints(): void {
    this.hint = undefined;
    this.hintsMisled = true;
  }

  private setHint(hint: Hint): void {
    // executing{node:null} follows the error/interrupt event; keep the event, it carries the details.
    if (hint.kind === 'done' && (this.hint?.kind === 'error' || this.hint?.kind === 'interrupted')) return;
    // The grace is the history's lag behind the first terminal event: a repeat must not put it off.
    if (!this.hint) this.hintAt = Date.now();
    this.hint = hint;
    // Each kind wakes the follower once (execution_success, then executing {node: null} once the
    // history is written: each looked at at once). A repeat, or kinds alternating, tell nothing new:
    // waking on each asked /history once per frame, back to back; the fast polls look meanwhile.
    if (this.wokenBy.has(hint.kind) || this.hintsMisled) return;
    this.wokenBy.add(hint.kind);
    this.wake?.();
  }

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    this.callback('onStarted', () => this.options.onStarted?.({ promptId: this.promptId }));
  }

  /**
   * Caller callbacks run one after another, in event order, even when async; their errors are
   * logged and dropped so they cannot break following.
   */
  private callback(name: string, call: () => void | Promise<void> | undefined): void {
    const report = (error: unknown) => this.deps.log.warn(`comfyui ${name} callback failed`, { promptId: this.promptId, error: (error as Error)?.message ?? String(error) });
    this.callbacks = this.callbacks.then(call).catch(report);
  }

  /** Lets pending callbacks finish before the outcome is reported, so no progress lands after it. */
  private async drainCallbacks(): Promise<void> {
    await Promise.race([this.callbacks, new Promise((resolve) => setTimeout(resolve, CALLBACK_DRAIN_MS).unref())]);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
