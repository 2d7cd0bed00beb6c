import { randomUUID } from 'node:crypto';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { ComfySocket } from './comfy-socket';
import { ComfyPromptLostError } from './errors/comfy-prompt-lost-error';
import { ComfyUnreachableError } from './errors/comfy-unreachable-error';
import { ComfyValidationError, type ComfyErrorBody } from './errors/comfy-validation-error';
import { followPrompt } from './follow-prompt';
import type { ApiWorkflow, FollowOptions, HistoryEntry, RunResult, SubmitOptions, WsMessage } from './types';

export interface ComfyClientOptions {
  baseUrl: string;
  clientId?: string;
  requestTimeoutMs?: number;
  log?: { warn(message: string, meta?: object): unknown };
}

/**
 * Speaks ComfyUI's HTTP + WebSocket protocol (comfyui-protocol.md) for one backend: submit,
 * follow, history, view, upload, interrupt, queue delete, introspection. A pool holds many.
 */
export class ComfyClient {
  readonly baseUrl: string;
  readonly clientId: string;
  private readonly http: AxiosInstance;
  private readonly socket: ComfySocket;

  constructor(private readonly options: ComfyClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.clientId = options.clientId ?? `anime-${randomUUID()}`;
    this.http = axios.create({ baseURL: this.baseUrl, timeout: options.requestTimeoutMs ?? 30_000, validateStatus: () => true });
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(this.clientId)}`;
    this.socket = new ComfySocket(wsUrl, (error) => options.log?.warn('comfyui websocket error', { baseUrl: this.baseUrl, error: error.message }));
  }

  connect(): Promise<void> {
    return this.socket.connect();
  }

  close(): void {
    this.socket.close();
  }

  onMessage(listener: (message: WsMessage) => void): () => void {
    return this.socket.onMessage(listener);
  }

  /** POST /prompt. A 400, or a 200 with node_errors, is a ComfyValidationError. */
  async submit(prompt: ApiWorkflow, options: { promptId?: string; extraData?: Record<string, unknown>; front?: boolean } = {}): Promise<{ promptId: string; number: number }> {
    const body = { prompt, client_id: this.clientId, prompt_id: options.promptId, extra_data: options.extraData, front: options.front };
    const res = await this.request('post', '/prompt', body);
    if (res.status === 400) throw new ComfyValidationError(res.data as ComfyErrorBody);
    this.assertOk(res.status, '/prompt');
    const data = res.data as { prompt_id: string; number: number; node_errors?: Record<string, unknown> };
    if (data.node_errors && Object.keys(data.node_errors).length) throw new ComfyValidationError(data as ComfyErrorBody);
    // Servers older than 2025-07 ignore our prompt_id: always use the one they return.
    return { promptId: data.prompt_id, number: data.number };
  }

  /** Submits and follows to the end; subscribes before posting so nothing is missed. */
  async run(prompt: ApiWorkflow, options: SubmitOptions): Promise<RunResult> {
    await this.ensureSocket();
    const follower = followPrompt(this.ports(), options.promptId, options);
    try {
      const { promptId } = await this.submit(prompt, options);
      if (promptId !== options.promptId) {
        follower.cancel();
        return this.follow(promptId, options);
      }
    } catch (error) {
      follower.cancel();
      follower.done.catch(() => undefined);
      throw error;
    }
    return follower.done;
  }

  /**
   * Follows a prompt submitted earlier (after a crash of ours). When the backend has no trace
   * of it, `resubmit` is posted under the same id; without it, ComfyPromptLostError.
   */
  async follow(promptId: string, options: FollowOptions & { resubmit?: ApiWorkflow; extraData?: Record<string, unknown> } = {}): Promise<RunResult> {
    await this.ensureSocket();
    const follower = followPrompt(this.ports(), promptId, options);
    try {
      if (await this.history(promptId)) return await follower.done;
      const queue = await this.queue();
      const known = [...queue.queue_running, ...queue.queue_pending].some((item) => item[1] === promptId);
      if (!known && (await this.history(promptId)) === null) {
        if (!options.resubmit) throw new ComfyPromptLostError(promptId);
        await this.submit(options.resubmit, { promptId, extraData: options.extraData });
      }
    } catch (error) {
      follower.cancel();
      follower.done.catch(() => undefined);
      throw error;
    }
    return follower.done;
  }

  async history(promptId: string): Promise<HistoryEntry | null> {
    const res = await this.request('get', `/history/${encodeURIComponent(promptId)}`);
    this.assertOk(res.status, '/history');
    return ((res.data as Record<string, HistoryEntry>)[promptId] as HistoryEntry | undefined) ?? null;
  }

  async queue(): Promise<{ queue_running: unknown[][]; queue_pending: unknown[][] }> {
    const res = await this.request('get', '/queue');
    this.assertOk(res.status, '/queue');
    return res.data as { queue_running: unknown[][]; queue_pending: unknown[][] };
  }

  async queueRemaining(): Promise<number> {
    const res = await this.request('get', '/prompt');
    this.assertOk(res.status, '/prompt');
    return Number((res.data as { exec_info: { queue_remaining: number } }).exec_info.queue_remaining);
  }

  /** The exact bytes of an output (no `preview`/`channel`: no re-encoding). */
  async view(file: { filename: string; subfolder?: string; type?: string }): Promise<Buffer> {
    const res = await this.request('get', '/view', undefined, {
      params: { filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' },
      responseType: 'arraybuffer',
    });
    this.assertOk(res.status, '/view');
    return Buffer.from(res.data as ArrayBuffer);
  }

  /** POST /upload/image. Always use the returned name: ComfyUI renames on a clash. */
  async uploadImage(bytes: Buffer, filename: string, options: { subfolder?: string; overwrite?: boolean; type?: 'input' | 'temp' } = {}): Promise<{ name: string; subfolder: string; type: string }> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)]), filename);
    form.append('type', options.type ?? 'input');
    if (options.subfolder) form.append('subfolder', options.subfolder);
    if (options.overwrite) form.append('overwrite', 'true');
    const res = await this.request('post', '/upload/image', form);
    this.assertOk(res.status, '/upload/image');
    return res.data as { name: string; subfolder: string; type: string };
  }

  async interrupt(promptId?: string): Promise<void> {
    const res = await this.request('post', '/interrupt', promptId ? { prompt_id: promptId } : undefined);
    this.assertOk(res.status, '/interrupt');
  }

  /** Removes pending prompts (a running one is untouched: interrupt it). */
  async deleteFromQueue(promptIds: string[]): Promise<void> {
    const res = await this.request('post', '/queue', { delete: promptIds });
    this.assertOk(res.status, '/queue');
  }

  async systemStats(): Promise<Record<string, unknown>> {
    const res = await this.request('get', '/system_stats');
    this.assertOk(res.status, '/system_stats');
    return res.data as Record<string, unknown>;
  }

  async objectInfo(className?: string): Promise<Record<string, { input?: { required?: Record<string, unknown[]> } }>> {
    const res = await this.request('get', className ? `/object_info/${encodeURIComponent(className)}` : '/object_info');
    this.assertOk(res.status, '/object_info');
    return res.data as Record<string, { input?: { required?: Record<string, unknown[]> } }>;
  }

  /** Checkpoint names, from either combo form: legacy `[[...], {}]` or `["COMBO", {options}]`. */
  async listCheckpoints(): Promise<string[]> {
    const info = await this.objectInfo('CheckpointLoaderSimple');
    const spec = info.CheckpointLoaderSimple?.input?.required?.ckpt_name;
    if (!spec) return [];
    if (Array.isArray(spec[0])) return spec[0] as string[];
    if (spec[0] === 'COMBO') return ((spec[1] as { options?: string[] })?.options ?? []) as string[];
    return [];
  }

  private async ensureSocket(): Promise<void> {
    if (!this.socket.connected) await this.socket.connect().catch((error: Error) => {
      throw new ComfyUnreachableError(this.baseUrl, `websocket: ${error.message}`);
    });
  }

  private ports() {
    return { onMessage: (l: (m: WsMessage) => void) => this.onMessage(l), history: (id: string) => this.history(id), interrupt: (id: string) => this.interrupt(id) };
  }

  private async request(method: 'get' | 'post', url: string, data?: unknown, config: object = {}) {
    try {
      return await this.http.request({ method, url, data, ...config });
    } catch (error) {
      throw new ComfyUnreachableError(this.baseUrl, (error as AxiosError).message);
    }
  }

  private assertOk(status: number, path: string): void {
    if (status < 200 || status >= 300) throw new ComfyUnreachableError(this.baseUrl, `${path} answered HTTP ${status}`, status);
  }
}
