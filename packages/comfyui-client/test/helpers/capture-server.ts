import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';

/** The real ComfyUI captures (copied beside the simulator's tests from the project's shared notes). */
export const CAPTURES_DIR = path.resolve(__dirname, '..', '..', '..', 'comfyui-simulator', 'test', 'fixtures', 'comfyui-captures');

export const capture = (name: string) => JSON.parse(readFileSync(path.join(CAPTURES_DIR, name), 'utf8'));
export const captureBytes = (name: string) => readFileSync(path.join(CAPTURES_DIR, name));

/** A frame as the server sends it: captured text (its prompt id swapped for the live one), or bytes. */
export type Frame = { text: string } | { bytes: Buffer };

export interface ReplayCase {
  /** The capture's case, e.g. '10_probe': its POST /prompt answer, WebSocket frames and history entry. */
  name: string;
  /** Frames sent before the captured ones / after each captured one (noise a real server or its custom nodes add). */
  before?: (promptId: string) => Frame[];
  between?: (promptId: string, index: number) => Frame[];
  /** Answer with the captured prompt id instead of the one posted (a server older than 2025-07 ignores it). */
  ignorePromptId?: boolean;
  /** Send none of the prompt's frames (a socket that was down or connected after the prompt ended). */
  silent?: boolean;
  /** Per-frame pause (ms) once the answer to the POST is sent; 0 sends them all at once. */
  frameGapMs?: number;
  /** /history stays `{}`, and /queue lists the prompt running, this long after its terminal event (a server slow to write history). */
  historyLagMs?: number;
  /** Where /queue lists the prompt meanwhile: running (as a server slow to write history), or pending (a broken server's terminal event for a prompt it has not started). */
  lagListed?: 'running' | 'pending';
}

interface Live {
  promptId: string;
  capturedId: string;
  name: string;
  done: boolean;
  clientId: string;
  listed: 'running' | 'pending';
}

/**
 * A raw stand-in that answers with the bytes a real ComfyUI sent (comfyui-captures): POST /prompt
 * gives the captured answer, the socket of the posted client_id gets the captured frames, and
 * /history/{id} is `{}` until the captured terminal event has gone out, then the captured entry.
 * Nothing is modelled: only what the real server was seen sending, with the prompt id swapped.
 */
export class CaptureServer {
  readonly url: string;
  readonly requests: { method: string; url: string; body: string }[] = [];
  private readonly sockets = new Map<string, WebSocket>();
  private readonly live = new Map<string, Live>();
  private next: ReplayCase | undefined;

  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(): Promise<CaptureServer> {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const replay = new CaptureServer(server, wss);
    server.on('request', (req, res) => void replay.answer(req, res));
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const sid = url.searchParams.get('clientId') ?? 'anonymous';
      wss.handleUpgrade(req, socket, head, (ws) => {
        replay.sockets.set(sid, ws);
        ws.on('close', () => replay.sockets.get(sid) === ws && replay.sockets.delete(sid));
        // The captured on-connect frame (00_ws_on_connect.json), its sid being the client's id.
        ws.send(capture('00_ws_on_connect.json')[0].raw.replace('"sid": "x"', `"sid": ${JSON.stringify(sid)}`));
      });
    });
    return replay;
  }

  /** The case the next POST /prompt replays. */
  replay(next: ReplayCase): void {
    this.next = next;
  }

  /** Sends frames to a client's socket now (broadcasts from elsewhere: other clients, custom nodes). */
  send(clientId: string, frames: Frame[]): void {
    const ws = this.sockets.get(clientId);
    for (const frame of frames) if (ws?.readyState === WebSocket.OPEN) ws.send('text' in frame ? frame.text : frame.bytes);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', body });
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, text: string) => {
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };

    if (req.method === 'POST' && url.pathname === '/prompt') return this.post(body, res);
    if (req.method === 'GET' && url.pathname.startsWith('/history/')) {
      const id = decodeURIComponent(url.pathname.slice('/history/'.length));
      const live = this.live.get(id);
      if (!live?.done) return json(200, '{}');
      return json(200, swapId(capture(`${live.name}_history.json`).raw_body, live.capturedId, live.promptId));
    }
    if (req.method === 'GET' && url.pathname === '/queue') {
      const listed = (where: Live['listed']) => [...this.live.values()].filter((l) => !l.done && l.listed === where).map((l) => [0, l.promptId, {}, { client_id: l.clientId }, []]);
      return json(200, JSON.stringify({ queue_running: listed('running'), queue_pending: listed('pending') }));
    }
    if (req.method === 'GET' && url.pathname === '/view') {
      const meta = capture('10_probe_view_response_meta.json');
      if (`${url.pathname}${url.search}` !== meta.path) return void res.writeHead(404, { 'Content-Length': 0 }).end();
      const bytes = captureBytes('10_probe_view.png');
      res.writeHead(200, { 'Content-Type': meta.headers['Content-Type'], 'Content-Length': bytes.length, 'Content-Disposition': meta.headers['Content-Disposition'] });
      return void res.end(bytes);
    }
    if (req.method === 'POST' && (url.pathname === '/interrupt' || url.pathname === '/queue')) return void res.writeHead(200, { 'Content-Length': 0 }).end();
    res.writeHead(404, { 'Content-Length': 0 }).end();
  }

  private post(body: string, res: http.ServerResponse): void {
    const ask = JSON.parse(body);
    const chosen = this.next;
    if (!chosen) throw new Error('no replay case armed');
    const captured = capture(`${chosen.name}_post_prompt_response.json`);
    const capturedId: string = captured.json?.prompt_id ?? '';
    const promptId: string = chosen.ignorePromptId || !ask.prompt_id ? capturedId : ask.prompt_id;
    const text: string = captured.raw_body ?? captured.text;
    res.writeHead(captured.status, { 'Content-Type': captured.content_type, 'Content-Length': Buffer.byteLength(swapId(text, capturedId, promptId)) });
    res.end(swapId(text, capturedId, promptId));
    if (captured.status !== 200) return;

    const live: Live = { promptId, capturedId, name: chosen.name, done: false, clientId: ask.client_id, listed: chosen.lagListed ?? 'running' };
    this.live.set(promptId, live);
    const frames: Array<{ raw: string; terminal: boolean }> = capture(`${chosen.name}_ws_messages.json`).map((m: any) => ({
      raw: swapId(m.raw, capturedId, promptId),
      terminal: ['execution_success', 'execution_error', 'execution_interrupted'].includes(m.data.type),
    }));
    let ending = false;
    const end = () => {
      if (ending) return;
      ending = true;
      if (chosen.historyLagMs) setTimeout(() => (live.done = true), chosen.historyLagMs);
      else live.done = true;
    };
    void (async () => {
      if (!chosen.silent) this.send(live.clientId, chosen.before?.(promptId) ?? []);
      for (const [index, frame] of frames.entries()) {
        if (chosen.frameGapMs) await new Promise((resolve) => setTimeout(resolve, chosen.frameGapMs));
        if (!chosen.silent) {
          this.send(live.clientId, [{ text: frame.raw }]);
          this.send(live.clientId, chosen.between?.(promptId, index) ?? []);
        }
        // As the real server: the history entry is written after the terminal event, before the last status.
        if (frame.terminal) end();
      }
      end();
    })();
  }
}

function swapId(text: string, from: string, to: string): string {
  return from ? text.split(from).join(to) : text;
}

/** A binary preview frame as server.send_image writes it: event 1 (PREVIEW_IMAGE), format 1 (JPEG), then the image. */
export function previewFrame(): Frame {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  return { bytes: Buffer.concat([header, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9])]) };
}

/** Binary event 3 (TEXT): node id length, node id, text. */
export function progressTextFrame(nodeId: string, text: string): Frame {
  const id = Buffer.from(nodeId, 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(3, 0);
  head.writeUInt32BE(id.length, 4);
  return { bytes: Buffer.concat([head, id, Buffer.from(text, 'utf8')]) };
}
