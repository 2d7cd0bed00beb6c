import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ComfyUnreachableError } from '../errors/comfy-unreachable-error';
import type { ClientLogger } from '../types';
import { parseComfyMessage, type ComfyMessage } from './comfy-message';

export type SocketState = 'open' | 'closed';

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
const HEARTBEAT_MS = 20_000;
/**
 * How long a socket must stay open to count as a recovery: backoff and the warn line start over
 * only then. A server that drops each socket at once (a ping flood ws ends after 60 pongs unsent,
 * a frame past MAX_FRAME_BYTES, a proxy closing upgrades) is redialled with growing backoff, not
 * every 250 ms with a warn line and a probe each time.
 */
const STEADY_OPEN_MS = 2_000;
/**
 * The largest frame read: a frame of ComfyUI's is a few KB (an `executed` of hundreds of images, a
 * progress_state of a large graph: about a MB; a latent preview is at most 512 px). A larger one
 * closes the socket (1009), which reconnects; ws's own default (100 MiB) let one frame cost the
 * process some 250 MB (buffer, text, parse).
 */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;

/**
 * The one long-lived /ws connection of a client. After the first successful open it reconnects with
 * exponential backoff until closed, under the same clientId, so the events of prompts already
 * queued keep coming. ComfyUI replays nothing after a reconnect, so followers must reconcile through
 * /history and /queue.
 */
export class ComfySocket {
  private socket: WebSocket | undefined;
  private readonly messageListeners = new Set<(message: ComfyMessage) => void>();
  private readonly stateListeners = new Set<(state: SocketState) => void>();
  private running = false;
  private backoffMs = MIN_BACKOFF_MS;
  /** Redials since a socket last stayed open STEADY_OPEN_MS (its reconnects during an outage, or while each socket is dropped at once). */
  private failedDials = 0;
  /** When the current socket opened, epoch ms; 0 while none is open. */
  private openedAt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private opened: Promise<void> | undefined;
  private lastMessageAt = 0;
  private silenceCheck: NodeJS.Timeout | undefined;

  constructor(
    /** ws(s)://host:port/ws */
    private readonly url: string,
    private currentClientId: string,
    private readonly handshakeTimeoutMs: number,
    private readonly log: ClientLogger,
  ) {}

  /** The id ComfyUI routes this client's prompts to; a new one only after the server dropped the old (see expectMessageSince). */
  get clientId(): string {
    return this.currentClientId;
  }

  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** When the last frame (any: JSON, progress_state, binary) came from the server, epoch ms; 0 before the first. */
  get lastFrameAt(): number {
    return this.lastMessageAt;
  }

  /** True between a successful connect() and close(), reconnecting or not. */
  get isRunning(): boolean {
    return this.running;
  }

  onMessage(listener: (message: ComfyMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onState(listener: (state: SocketState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Opens the socket; if the first attempt fails, nothing keeps running and the promise rejects. */
  connect(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.opened ??= new Promise<void>((resolve, reject) => {
      const socket = this.dial();
      const fail = (error: unknown) => {
        this.opened = undefined;
        reject(new ComfyUnreachableError(`ComfyUI websocket ${this.url} unreachable: ${(error as Error)?.message ?? error}`, undefined, { cause: error }));
      };
      socket.once('error', fail);
      socket.once('open', () => {
        socket.off('error', fail);
        this.running = true;
        this.opened = undefined;
        resolve();
      });
    });
    return this.opened;
  }

  /**
   * ComfyUI broadcasts `status` to every socket in its map whenever its queue changes, so a prompt
   * just queued is answered on a socket the server still sends to. If nothing arrives within
   * `withinMs` of `since`, the server has dropped this socket from its map (server.py: a replaced
   * socket's late close removes its successor under the same clientId), and every event of our
   * prompts would be lost while the socket looks healthy. It is closed and dialled again under a
   * new clientId, since closing it under the old one would race the same way: prompts queued under
   * the old id finish through their /history poll, later ones are followed on the new socket.
   * One check at a time; a check pending covers the prompts queued meanwhile.
   */
  expectMessageSince(since: number, withinMs: number): void {
    const socket = this.socket;
    if (this.silenceCheck || !socket || socket.readyState !== WebSocket.OPEN) return;
    this.silenceCheck = setTimeout(() => {
      this.silenceCheck = undefined;
      if (this.lastMessageAt >= since || socket !== this.socket || socket.readyState !== WebSocket.OPEN) return;
      const previous = this.currentClientId;
      this.currentClientId = randomUUID();
      this.log.warn('comfyui socket got nothing after a prompt was queued: the server no longer sends to it; reconnecting under a new clientId', { url: this.url, silentMs: withinMs, previous, clientId: this.currentClientId });
      socket.terminate();
    }, withinMs);
    this.silenceCheck.unref();
  }

  close(): void {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.silenceCheck);
    clearInterval(this.heartbeat);
    this.socket?.removeAllListeners('close');
    this.socket?.terminate();
    this.socket = undefined;
  }

  private dial(): WebSocket {
    const socket = new WebSocket(`${this.url}?clientId=${encodeURIComponent(this.currentClientId)}`, { handshakeTimeout: this.handshakeTimeoutMs, maxPayload: MAX_FRAME_BYTES });
    this.socket = socket;
    socket.on('open', () => {
      this.openedAt = Date.now();
      this.startHeartbeat(socket);
      this.log.debug('comfyui socket open', { url: this.url });
      this.emitState('open');
    });
    socket.on('message', (raw, isBinary) => {
      this.lastMessageAt = Date.now();
      // Binary frames are previews and progress text: not needed to follow a prompt.
      if (isBinary) return;
      const text = raw.toString();
      if (isProgressState(text)) return;
      const message = parseComfyMessage(text);
      if (message) this.emit(message);
    });
    socket.on('error', (error) => this.log.debug('comfyui socket error', { url: this.url, error: error.message }));
    socket.on('close', () => {
      clearInterval(this.heartbeat);
      if (this.openedAt && Date.now() - this.openedAt >= STEADY_OPEN_MS) {
        this.backoffMs = MIN_BACKOFF_MS;
        this.failedDials = 0;
      }
      this.openedAt = 0;
      if (this.socket === socket) this.socket = undefined;
      this.emitState('closed');
      if (this.running) this.scheduleReconnect();
    });
    return socket;
  }

  private scheduleReconnect(): void {
    const delay = this.backoffMs * (0.75 + Math.random() * 0.5);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    // The close says so at warn; each redial that fails after it (every 10 s at most, for as long as
    // ComfyUI is away) at debug: the backend's own state (down, then up) tells the rest of an outage.
    if (this.failedDials === 0) this.log.warn('comfyui socket closed, reconnecting', { url: this.url, delayMs: Math.round(delay) });
    else this.log.debug('comfyui socket still closed, reconnecting', { url: this.url, delayMs: Math.round(delay), failedDials: this.failedDials });
    this.failedDials++;
    this.reconnectTimer = setTimeout(() => {
      if (this.running) this.dial();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** A server that vanished without closing TCP is only noticed by a missing pong. */
  private startHeartbeat(socket: WebSocket): void {
    let alive = true;
    socket.on('pong', () => (alive = true));
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!alive) {
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  private emit(message: ComfyMessage): void {
    for (const listener of [...this.messageListeners]) {
      try {
        listener(message);
      } catch (error) {
        this.log.error('comfyui message listener failed', { type: message.type, error: (error as Error).message });
      }
    }
  }

  private emitState(state: SocketState): void {
    for (const listener of [...this.stateListeners]) listener(state);
  }
}

/**
 * progress_state: every node's state, sent on each change of any (about half the frames of a prompt
 * and most of their bytes, growing with the graph). `progress` carries the tick a follower needs,
 * so these frames are dropped unparsed. ComfyUI writes `json.dumps({"type": ..., "data": ...})`;
 * a frame spelled otherwise is parsed and dropped as an unknown type.
 */
function isProgressState(text: string): boolean {
  return text.startsWith('{"type": "progress_state"');
}
