import { randomUUID } from 'node:crypto';
import { ComfyHttpError, isAnswerTooLarge } from './errors/comfy-http-error';
import { ComfyPromptLostError } from './errors/comfy-prompt-lost-error';
import { ComfyValidationError } from './errors/comfy-validation-error';
import { ComfyHttp } from './http/comfy-http';
import { queueState } from './http/queue-state';
import { submitPrompt } from './http/submit-prompt';
import { uploadResult } from './http/upload-result';
import { comboOptions } from './models/combo-options';
import { PromptFollower } from './run/prompt-follower';
import { shown } from './server-text';
import { ClientIdWatch } from './socket/client-id-watch';
import type { ComfyMessage } from './socket/comfy-message';
import { ComfySocket, type SocketState } from './socket/comfy-socket';
import {
  SILENT_LOGGER,
  type ApiPrompt,
  type ClientIdLeases,
  type ClientLogger,
  type FollowOptions,
  type HistoryEntry,
  type QueueEntry,
  type QueueState,
  type ResumeOptions,
  type RunOptions,
  type RunResult,
  type SubmitOptions,
  type SubmitResult,
  type UploadResult,
} from './types';

export interface ComfyClientOptions {
  /** e.g. http://gpu-3:8188 */
  baseUrl: string;
  /** The WebSocket id; one per client, so events of this client's prompts come to it alone (random when absent). */
  clientId?: string;
  /** Any subset of debug/info/warn/error (winston, console…); missing levels are dropped. */
  log?: Partial<ClientLogger>;
  /**
   * Per HTTP request and per WebSocket handshake; default 30 s. A file (`view`) is not bounded as a
   * whole: it may go this long without a byte, and take this long plus 1 s per 32 KiB arrived.
   */
  requestTimeoutMs?: number;
  /**
   * How long the socket may stay silent after a prompt was queued (ComfyUI then broadcasts `status`)
   * before it is taken as dropped by the server and dialled again; default 10 s.
   */
  socketSilenceMs?: number;
}

function boundLogger(log: Partial<ClientLogger> | undefined): ClientLogger {
  if (!log) return SILENT_LOGGER;
  const level = (name: keyof ClientLogger) => (message: string, meta?: Record<string, unknown>) => void log[name]?.call(log, message, meta);
  return { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') };
}

/** The longest clientId a socket is opened under: the id comes from the server's /queue answer. */
const MAX_CLIENT_ID_CHARS = 256;

/** The clientId a queued prompt was sent with (ComfyUI copies `client_id` into its extra_data); undefined when none usable. */
function sentClientId(entry: QueueEntry): string | undefined {
  const id = entry.extraData?.client_id;
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_CLIENT_ID_CHARS ? id : undefined;
}

/** The largest queue length taken for one (a backend's row keeps it as a 32-bit integer). */
const MAX_QUEUE_COUNT = 2_147_483_647;

/** queue_remaining as ComfyUI sends it, a whole number 0 ≤ n; undefined for anything else (text, a fraction, NaN, a negative, too large). */
const queueCount = (value: unknown): number | undefined => (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_QUEUE_COUNT ? (value as number) : undefined);

/** The one module that speaks ComfyUI's HTTP + WebSocket protocol, for one ComfyUI server. */
export class ComfyClient {
  readonly baseUrl: string;
  private readonly http: ComfyHttp;
  private readonly socket: ComfySocket;
  private readonly log: ClientLogger;
  private lastQueueRemaining: number | undefined;
  private readonly socketSilenceMs: number;
  private readonly wsUrl: string;
  private readonly timeoutMs: number;
  /** Sockets under the clientIds of prompts followed for another client, one per id however many prompts it sent (two would replace each other). */
  private readonly watches = new Map<string, { watch: ClientIdWatch; users: number }>();

  constructor(options: ComfyClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.log = boundLogger(options.log);
    const timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.timeoutMs = timeoutMs;
    this.socketSilenceMs = options.socketSilenceMs ?? 10_000;
    this.http = new ComfyHttp(this.baseUrl, timeoutMs);
    this.wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/ws`;
    this.socket = new ComfySocket(this.wsUrl, options.clientId ?? randomUUID(), timeoutMs, this.log);
    this.socket.onMessage((message) => {
      // Anything but a count is no server's: the caller then asks GET /prompt.
      if (message.type === 'status') this.lastQueueRemaining = queueCount(message.data.status?.exec_info?.queue_remaining);
    });
  }

  /** Opens the long-lived socket; rejects with ComfyUnreachableError if the first attempt fails. */
  connect(): Promise<void> {
    return this.socket.connect();
  }

  close(): void {
    this.socket.close();
    for (const { watch } of this.watches.values()) watch.close();
    this.watches.clear();
  }

  /** The WebSocket id sent as each prompt's client_id. */
  get clientId(): string {
    return this.socket.clientId;
  }

  get connected(): boolean {
    return this.socket.isOpen;
  }

  /** queue_remaining from the latest status event: cheap backpressure without a request. */
  get queueRemainingFromSocket(): number | undefined {
    return this.lastQueueRemaining;
  }

  /**
   * When the last frame came on any of its sockets (its own, or one under another prompt's clientId),
   * epoch ms; 0 before the first: ComfyUI's event loop sending, its worker at work.
   */
  get lastFrameAt(): number {
    let latest = this.socket.lastFrameAt;
    for (const { watch } of this.watches.values()) latest = Math.max(latest, watch.lastFrameAt);
    return latest;
  }

  onMessage(listener: (message: ComfyMessage) => void): () => void {
    return this.socket.onMessage(listener);
  }

  onConnectionChange(listener: (state: SocketState) => void): () => void {
    return this.socket.onState(listener);
  }

  /** Queues a prompt. Rejections (400, or 200 with node_errors) throw ComfyValidationError. */
  async submit(prompt: ApiPrompt, options: SubmitOptions = {}): Promise<SubmitResult> {
    const sentAt = Date.now();
    const { promptId, number, nodeErrors } = await submitPrompt(this.http, this.clientId, prompt, options);
    this.socket.expectMessageSince(sentAt, this.socketSilenceMs);
    if (nodeErrors) {
      // ComfyUI queued the valid part anyway; don't let it spend the GPU on a prompt we treat as failed.
      await this.takeOff(promptId).catch(() => undefined);
      throw new ComfyValidationError({ error: { type: 'node_errors', message: 'Some outputs failed validation', details: '' }, node_errors: nodeErrors }, promptId);
    }
    return { promptId, number };
  }

  /** Submits and follows a prompt to its end; resolves with its output files, throws on error or interrupt. */
  async run(prompt: ApiPrompt, options: RunOptions = {}): Promise<RunResult> {
    options.signal?.throwIfAborted();
    const promptId = options.promptId ?? randomUUID();
    if (!this.socket.isRunning) await this.connect();
    // Subscribe before posting: a fully cached prompt can finish before the POST returns.
    const follower = this.follower(promptId, options, prompt);
    try {
      const submitted = await this.submit(prompt, { ...options, promptId });
      if (submitted.promptId !== promptId) follower.retarget(submitted.promptId);
      follower.expectNumber(submitted.number);
      options.onAccepted?.(submitted);
      return await follower.result({ justPosted: true });
    } finally {
      follower.dispose();
    }
  }

  /**
   * Follows a prompt submitted earlier (e.g. before our process restarted): done if history has it,
   * followed if queued or running (its events heard under the clientId it was sent with, when
   * `leases` lend it); otherwise `resubmit` is posted under the same id, or ComfyPromptLostError is thrown.
   */
  async follow(promptId: string, options: ResumeOptions = {}): Promise<RunResult> {
    options.signal?.throwIfAborted();
    if (!this.socket.isRunning) await this.connect();
    const follower = this.follower(promptId, options, options.resubmit);
    let unwatch: (() => void) | undefined;
    try {
      if (!(await this.history(promptId))) {
        const queued = await this.queuedEntry(promptId).catch((error: unknown) => {
          if (!isAnswerTooLarge(error)) throw error;
          // A busy server's queue past the bound: the prompt is most likely there, so it is followed
          // (not resubmitted) by its history and events; the caller's deadline bounds a lost one.
          follower.withoutQueue(error.message);
          return 'unreadable' as const;
        });
        if (queued === 'unreadable') return await follower.result();
        if (queued) unwatch = this.watchSentAs(queued, follower, options.leases);
        else if (!(await this.history(promptId))) {
          if (!options.resubmit) throw new ComfyPromptLostError(promptId, 'is neither queued, running nor in history');
          this.log.info('comfyui prompt unknown to the server, resubmitting', { promptId, baseUrl: this.http.shownUrl });
          await this.submit(options.resubmit, { promptId, extraData: options.extraData });
        }
      }
      return await follower.result();
    } finally {
      follower.dispose();
      unwatch?.();
    }
  }

  /** Hands the follower the events of a prompt queued under another clientId; returns what ends that (undefined: nothing to watch). */
  private watchSentAs(entry: QueueEntry, follower: PromptFollower, leases: ClientIdLeases | undefined): (() => void) | undefined {
    const clientId = sentClientId(entry);
    if (!leases || !clientId || clientId === this.clientId) return undefined;
    let shared = this.watches.get(clientId);
    if (!shared) {
      shared = { watch: new ClientIdWatch(this.wsUrl, clientId, this.timeoutMs, this.log, leases), users: 0 };
      this.watches.set(clientId, shared);
      shared.watch.start();
    }
    const watching = shared;
    watching.users++;
    follower.alsoListenTo(watching.watch);
    return () => {
      if (--watching.users > 0) return;
      if (this.watches.get(clientId) === watching) this.watches.delete(clientId);
      watching.watch.close();
    };
  }

  /** The history entry of a prompt, or undefined while it has none. */
  async history(promptId: string): Promise<HistoryEntry | undefined> {
    const body = await this.http.okObject<Record<string, HistoryEntry>>({ url: `/history/${encodeURIComponent(promptId)}` });
    return body?.[promptId];
  }

  /**
   * A file's bytes; a file larger than `maxBytes` (default MAX_FILE_ANSWER_BYTES) is a ComfyHttpError,
   * never read whole. Aborting `signal` cuts the transfer off and rejects with its reason.
   */
  async view(file: { filename: string; subfolder?: string; type?: string }, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    const params = { filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' };
    let bytes: Buffer;
    try {
      bytes = await this.http.ok<Buffer>({ url: '/view', params, responseType: 'arraybuffer', maxBytes: options.maxBytes, signal: options.signal });
    } catch (error) {
      // "answered 404 to GET /view" alone names no file: the job's error says which one (a temp file is gone once ComfyUI restarts).
      if (!(error instanceof ComfyHttpError)) throw error;
      const path = params.subfolder ? `${params.subfolder}/${params.filename}` : params.filename;
      const named = `${params.type} file ${shown(path)}`;
      throw new ComfyHttpError(error.method, error.path, error.status, error.body, `${error.message} (${named})`, error.tooLarge);
    }
    // The adapter hands over a Buffer already: no copy of a large image.
    return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  }

  /** Uploads into input/ (or `type`). Use the returned name: ComfyUI renames on a clash with different bytes. */
  async uploadImage(bytes: Buffer | Uint8Array, filename: string, options: { subfolder?: string; overwrite?: boolean; type?: 'input' | 'temp' | 'output' } = {}): Promise<UploadResult> {
    const form = new FormData();
    form.append('image', new Blob([bytes]), filename);
    if (options.subfolder) form.append('subfolder', options.subfolder);
    if (options.overwrite) form.append('overwrite', 'true');
    if (options.type) form.append('type', options.type);
    const answer = await this.http.okObject<Record<string, unknown>>({ method: 'post', url: '/upload/image', data: form });
    return uploadResult(answer, options.type ?? 'input', this.http.shownUrl);
  }

  /** With an id, stops that prompt only if it is running; without, whatever is running. */
  async interrupt(promptId?: string): Promise<void> {
    await this.http.ok({ method: 'post', url: '/interrupt', data: promptId === undefined ? {} : { prompt_id: promptId } });
  }

  /**
   * Takes one prompt off: deleted while it waits, interrupted only if /queue shows it running. A
   * server older than 2025-09 ignores the id /interrupt names and stops whatever runs, which would
   * be another prompt whenever this one is still pending (protocol notes §11).
   */
  private async takeOff(promptId: string): Promise<void> {
    await this.deleteFromQueue([promptId]);
    const { running } = await this.queue();
    if (running.some((item) => item.promptId === promptId)) await this.interrupt(promptId);
  }

  /** Removes pending prompts; a running prompt is not affected (interrupt it). */
  async deleteFromQueue(promptIds: string[]): Promise<void> {
    await this.http.ok({ method: 'post', url: '/queue', data: { delete: promptIds } });
  }

  async queue(): Promise<QueueState> {
    return queueState(await this.http.okObject({ url: '/queue' }), this.http.shownUrl);
  }

  /** Pending plus running prompts. */
  async queueRemaining(): Promise<number> {
    const body = await this.http.okObject<{ exec_info?: { queue_remaining?: unknown } }>({ url: '/prompt' });
    const count = queueCount(body.exec_info?.queue_remaining ?? 0);
    if (count === undefined) throw new ComfyHttpError('GET', '/prompt', 200, body, `ComfyUI at ${this.http.shownUrl} answered GET /prompt with a queue_remaining that is not a count`);
    return count;
  }

  async systemStats(): Promise<Record<string, any>> {
    return this.http.okObject({ url: '/system_stats' });
  }

  /** All node classes, or one (`{}` when the class isn't installed). */
  async objectInfo(className?: string): Promise<Record<string, any>> {
    return this.http.okObject({ url: className === undefined ? '/object_info' : `/object_info/${encodeURIComponent(className)}` });
  }

  /** The options of a dropdown input, e.g. comboOptions('LoraLoader', 'lora_name'). */
  async comboOptions(className: string, inputName: string): Promise<string[]> {
    return comboOptions(await this.objectInfo(className), className, inputName);
  }

  listCheckpoints(): Promise<string[]> {
    return this.comboOptions('CheckpointLoaderSimple', 'ckpt_name');
  }

  private async queuedEntry(promptId: string): Promise<QueueEntry | undefined> {
    const { running, pending } = await this.queue();
    return [...running, ...pending].find((item) => item.promptId === promptId);
  }

  private follower(promptId: string, options: FollowOptions, prompt?: ApiPrompt): PromptFollower {
    return new PromptFollower(
      {
        subscribe: (listener) => this.socket.onMessage(listener),
        history: (id) => this.history(id),
        queue: () => this.queue(),
        cancel: (id) => this.takeOff(id),
        socketOpen: () => this.socket.isOpen,
        log: this.log,
      },
      promptId,
      options,
      prompt,
    );
  }
}
