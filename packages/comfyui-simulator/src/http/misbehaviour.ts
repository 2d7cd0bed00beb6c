import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolveView } from '../files/resolve-view';
import { PNG_SIGNATURE } from '../images/png-decoder';
import type { SimulatorState } from '../simulator-state';
import type { SavedImageRef } from '../types';
import { sendJson } from './respond';

/**
 * An answer no real ComfyUI gives, armed by a test (simulator.misbehave) to see what a broken or
 * hostile server costs its clients. Everything else keeps following the protocol. `path` matches
 * GET requests whose path starts with it (`/history/` covers every prompt's history).
 */
export type Misbehaviour =
  /** 200 with an HTML page instead of JSON (a proxy's page, a server that is not ComfyUI). */
  | { kind: 'not_json'; path: string }
  /** 200 with `body` as JSON, whatever the route's answer should look like (null, an array, odd values). */
  | { kind: 'json'; path: string; body: unknown }
  /**
   * 200 with `bytes` of body, streamed as fast as the client reads: the start of a JSON object (a
   * PNG signature on /view) then padding. `declared`: announced in Content-Length (else chunked).
   */
  | { kind: 'oversized'; path: string; bytes: number; declared?: boolean }
  /** GET /history/<id> as it is, with every output node's `images` list replaced by what `rewrite` makes of it. */
  | { kind: 'history_images'; rewrite: (images: SavedImageRef[]) => unknown }
  /**
   * POST /prompt ignores the client's prompt_id and queues every prompt under this one (as a server
   * from before prompt_id was accepted would, were its ids not unique): history keeps the earlier
   * prompt's entry under it until the new one ends.
   */
  | { kind: 'reuse_prompt_id'; promptId: string }
  /**
   * A POST to `path` (default /prompt) answers `status` with `body` as JSON and does nothing else: a
   * /prompt refusal (400, or 200 with node_errors) in ComfyUI's shape but with words no ComfyUI sends
   * (NUL characters, lone surrogates, megabytes), or an /upload/image answer naming no usable file.
   */
  | { kind: 'post_answer'; path?: string; status: number; body: unknown }
  /**
   * POST /prompt queues the prompt as ComfyUI does, but answers `status` with `body` instead: what a
   * proxy in front of ComfyUI sends when ComfyUI's answer did not reach it in time (a 502 or 504).
   */
  | { kind: 'answer_lost'; status: number; body: unknown }
  /** GET /view of an existing file answers what `rewrite` makes of its bytes (a cut image: a Content-Length that lied). */
  | { kind: 'view_bytes'; rewrite: (bytes: Buffer) => Buffer }
  /**
   * GET /view of an existing file sent as over a slow link: `bytesPerSecond`, in ten chunks a
   * second, stopping for good (the connection left open) after `stallAfter` bytes when given.
   * Recorded with the bytes handed to the socket.
   */
  | { kind: 'view_paced'; bytesPerSecond: number; stallAfter?: number }
  /** Each `progress` message's data replaced by the messages' data `rewrite` makes of it (none, one or several). */
  | { kind: 'progress'; rewrite: (data: { value: number; max: number; prompt_id: string; node: string }) => unknown[] }
  /**
   * A GET of `path` (exactly) answered as ComfyUI does, but only once `until` settles: a server
   * slow to answer, for a test to catch its client with a request in flight. Each held request is
   * recorded (0 bytes) when it arrives.
   */
  | { kind: 'held'; path: string; until: Promise<unknown> }
  /**
   * Every GET of `path` (exactly) answered as ComfyUI does, `delayMs` late: a route whose handler is
   * slow while the prompt worker goes on (GET /system_stats asks torch for the device's memory on
   * aiohttp's event loop, which waits on the GIL or the driver while a checkpoint loads). WebSocket
   * messages and every other route keep their pace. Each delayed request is recorded (0 bytes) when it arrives.
   */
  | { kind: 'delayed'; path: string; delayMs: number };

/** What the armed misbehaviour did: bytes of oversized answers handed to sockets, per request (a held request: 0). */
export interface MisbehaviourRecord {
  path: string;
  bytesSent: number;
}

const PAD = Buffer.alloc(64 * 1024, 0x20);

/** Answers the request as the armed misbehaviour says (`route`: the real route's answer); false when it does not apply (the real route answers). */
export function misbehave(m: Misbehaviour | undefined, req: IncomingMessage, res: ServerResponse, state: SimulatorState, record: MisbehaviourRecord[], route: () => void): boolean {
  if (!m || m.kind === 'progress' || m.kind === 'reuse_prompt_id' || m.kind === 'answer_lost') return false;
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/^\/api(?=\/)/, '');
  if (m.kind === 'post_answer') {
    if (req.method !== 'POST' || path !== (m.path ?? '/prompt')) return false;
    // The body is read to its end (and dropped), so the connection stays usable.
    req.resume();
    req.once('end', () => sendJson(res, m.status, m.body));
    return true;
  }
  if (req.method !== 'GET') return false;
  if (m.kind === 'held') {
    if (path !== m.path) return false;
    record.push({ path, bytesSent: 0 });
    void m.until.then(route, route);
    return true;
  }
  if (m.kind === 'delayed') {
    if (path !== m.path) return false;
    record.push({ path, bytesSent: 0 });
    const timer = setTimeout(() => !res.destroyed && route(), m.delayMs);
    // A client that gave up (its timeout) closes the request: nothing is left pending for it.
    res.once('close', () => clearTimeout(timer));
    return true;
  }
  if (m.kind === 'history_images') {
    const match = /^\/history\/([^/]+)$/.exec(path);
    if (!match) return false;
    const history = structuredClone(state.queue.getHistory({ promptId: decodeURIComponent(match[1]) })) as Record<string, { outputs?: Record<string, Record<string, unknown>> }>;
    for (const entry of Object.values(history)) {
      for (const ui of Object.values(entry.outputs ?? {})) {
        if (Array.isArray(ui.images)) ui.images = m.rewrite(ui.images as SavedImageRef[]);
      }
    }
    sendJson(res, 200, history);
    return true;
  }
  if (m.kind === 'view_bytes') {
    if (path !== '/view') return false;
    const target = resolveView(new URL(req.url ?? '/', 'http://localhost').searchParams, state.env);
    if (target.status !== 200) return false;
    const body = m.rewrite(readFileSync(target.path));
    res.writeHead(200, { 'Content-Type': target.contentType, 'Content-Length': body.length });
    res.end(body);
    return true;
  }
  if (m.kind === 'view_paced') {
    if (path !== '/view') return false;
    const target = resolveView(new URL(req.url ?? '/', 'http://localhost').searchParams, state.env);
    if (target.status !== 200) return false;
    sendPaced(res, readFileSync(target.path), target.contentType, m, record);
    return true;
  }
  if (!path.startsWith(m.path)) return false;
  if (m.kind === 'json') {
    sendJson(res, 200, m.body);
    return true;
  }
  if (m.kind === 'not_json') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    return true;
  }
  const head = path === '/view' ? PNG_SIGNATURE : Buffer.from('{"pad": "');
  res.writeHead(200, { 'Content-Type': path === '/view' ? 'image/png' : 'application/json', ...(m.declared ? { 'Content-Length': m.bytes } : {}) });
  const sent: MisbehaviourRecord = { path, bytesSent: 0 };
  record.push(sent);
  const write = (chunk: Buffer) => {
    sent.bytesSent += chunk.length;
    return res.write(chunk);
  };
  write(head);
  const pump = () => {
    while (!res.destroyed && sent.bytesSent < m.bytes) {
      if (!write(PAD.subarray(0, Math.min(PAD.length, m.bytes - sent.bytesSent)))) return void res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
  return true;
}

/** A file's bytes at `pace.bytesPerSecond`, cut short (and held open) past `pace.stallAfter`. */
function sendPaced(res: ServerResponse, bytes: Buffer, contentType: string, pace: { bytesPerSecond: number; stallAfter?: number }, record: MisbehaviourRecord[]): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  const sent: MisbehaviourRecord = { path: '/view', bytesSent: 0 };
  record.push(sent);
  const chunk = Math.max(1, Math.floor(pace.bytesPerSecond / 10));
  const end = Math.min(bytes.length, pace.stallAfter ?? bytes.length);
  const tick = setInterval(() => {
    if (res.destroyed) return void clearInterval(tick);
    const next = Math.min(end, sent.bytesSent + chunk);
    res.write(bytes.subarray(sent.bytesSent, next));
    sent.bytesSent = next;
    if (next < bytes.length && next < end) return;
    clearInterval(tick);
    if (next === bytes.length) res.end();
  }, 100);
  res.on('close', () => clearInterval(tick));
}
