import WebSocket from 'ws';
import type { WsMessage } from './types';

type Listener = (message: WsMessage) => void;

/**
 * One long-lived WebSocket per client id. ComfyUI does not buffer events for a disconnected
 * socket, so callers reconcile through /history; this class only reconnects (with backoff),
 * drops binary frames (previews) and hands text frames to listeners.
 */
export class ComfySocket {
  private socket: WebSocket | null = null;
  private readonly listeners = new Set<Listener>();
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  onMessage(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Resolves once connected (or rejects on the first failure; reconnection keeps trying). */
  connect(): Promise<void> {
    this.closed = false;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.on('open', () => {
        this.attempt = 0;
        resolve();
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        let message: WsMessage;
        try {
          message = JSON.parse(data.toString()) as WsMessage;
        } catch {
          return;
        }
        if (!message || typeof message.type !== 'string') return;
        for (const listener of this.listeners) listener(message);
      });
      socket.on('error', (error) => {
        this.onError(error);
        reject(error);
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null;
        this.scheduleReconnect();
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const delay = Math.min(250 * 2 ** this.attempt++, 5_000);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.socket?.close();
    this.socket?.terminate();
    this.socket = null;
  }
}
