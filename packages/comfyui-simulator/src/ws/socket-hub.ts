import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { EventSink } from '../execution/event-sink';
import { refusedForOrigin } from '../http/origin-guard';
import { SERVER_BANNER } from '../http/server-headers';
import { pyJsonDumps } from '../python/py-json-dumps';
import { SERVER_FEATURES } from './server-features';

/** server.PromptServer's socket side: one socket per client id, events routed to one id or broadcast. */
export class SocketHub implements EventSink {
  private readonly sockets = new Map<string, WebSocket>();
  /** server.sockets_metadata: the feature flags each client id's first message declared. */
  private readonly featureFlags = new Map<string, Record<string, unknown>>();
  private readonly server = new WebSocketServer({ noServer: true });
  private executionClientId: string | null = null;
  private lastNodeId: string | null = null;

  constructor(private readonly queueInfo: () => Record<string, unknown>) {}

  attach(http: Server): void {
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws' && url.pathname !== '/api/ws') {
        socket.destroy();
        return;
      }
      if (refusedForOrigin(request.headers)) {
        socket.end(`HTTP/1.1 403 Forbidden\r\nServer: ${SERVER_BANNER}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        return;
      }
      this.server.handleUpgrade(request, socket, head, (ws) => this.accept(ws, url.searchParams.get('clientId') ?? ''));
    });
  }

  private accept(ws: WebSocket, requestedId: string): void {
    const sid = requestedId || randomUUID().replace(/-/g, '');
    // The real server drops the old socket from its map without closing it: that one goes quiet.
    this.sockets.set(sid, ws);
    this.featureFlags.set(sid, {});
    this.sendTo(ws, 'status', { status: this.queueInfo(), sid });
    if (this.executionClientId === sid && this.lastNodeId !== null) this.sendTo(ws, 'executing', { node: this.lastNodeId });
    let first = true;
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return;
      let message: unknown;
      try {
        message = JSON.parse(raw.toString());
      } catch {
        // ComfyUI logs invalid JSON from a client and carries on; the next message still counts as the first.
        return;
      }
      // `data.get("type")` raises on JSON that is not an object, before first_message is cleared.
      if (typeof message !== 'object' || message === null || Array.isArray(message)) return;
      if (first && (message as { type?: unknown }).type === 'feature_flags') {
        // sockets_metadata[sid]["feature_flags"] = data.get("data", {}): kept per client id, dropped when a socket under it closes.
        const flags = (message as { data?: unknown }).data;
        this.featureFlags.set(sid, typeof flags === 'object' && flags !== null && !Array.isArray(flags) ? (flags as Record<string, unknown>) : {});
        this.sendTo(ws, 'feature_flags', SERVER_FEATURES);
      }
      first = false;
    });
    // As server.py's `finally: self.sockets.pop(sid, None)`: a replaced socket that closes late
    // unregisters its successor under the same id, which then hears nothing while it stays open.
    ws.on('close', () => {
      this.sockets.delete(sid);
      this.featureFlags.delete(sid);
    });
    ws.on('error', () => undefined);
  }

  private sendTo(ws: WebSocket, event: string, data: unknown): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(pyJsonDumps({ type: event, data }));
  }

  send(event: string, data: unknown, sid: string | null): void {
    if (sid === null) {
      for (const ws of this.sockets.values()) this.sendTo(ws, event, data);
      return;
    }
    const ws = this.sockets.get(sid);
    if (ws) this.sendTo(ws, event, data);
  }

  /** server.send_bytes: to one client id's socket, or every socket when `sid` is null. */
  sendBytes(frame: Buffer, sid: string | null): void {
    const targets = sid === null ? [...this.sockets.values()] : [this.sockets.get(sid)];
    for (const ws of targets) if (ws?.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
  }

  /** feature_flags.supports_feature: only a flag the client id declared as JSON true; none for no id. */
  supportsFeature(sid: string | null, name: string): boolean {
    return sid !== null && this.featureFlags.get(sid)?.[name] === true;
  }

  setExecution(clientId: string | null, lastNodeId: string | null): void {
    this.executionClientId = clientId;
    this.lastNodeId = lastNodeId;
  }

  broadcastStatus(): void {
    this.send('status', { status: this.queueInfo() }, null);
  }

  /** Drops every connection at once, like a crashed server (used by close and by tests of reconnects). */
  disconnectAll(): void {
    for (const ws of this.server.clients) ws.terminate();
    this.sockets.clear();
    this.featureFlags.clear();
  }

  close(): Promise<void> {
    this.disconnectAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
