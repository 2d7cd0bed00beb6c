import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { ESSENTIAL_SECURITY_HEADERS } from '@anime/pipeline';
import type { EdgeRefusal } from '../http/edge/origin-policy';
import { errorCodeForStatus } from '../http/status-error-code';

/** Engine.io's protocol error numbers (engine.io `Server.errors`) as the API's codes. */
const ENGINE_ERROR_CODES: Readonly<Record<number, string>> = {
  0: 'unknown_transport',
  1: 'unknown_session',
  2: 'bad_handshake_method',
  3: 'bad_request',
  4: 'forbidden',
  5: 'unsupported_protocol_version',
};

type EngineMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * An engine.io middleware (`io.engine.use`) that makes Socket.IO's own HTTP refusals follow the
 * gateway's error envelope: engine.io answers `{ code: <number>, message }` (an unknown transport or
 * session, a refused handshake) or a bare 400/413/500 from its polling transport, past Express. The
 * answer is held from `writeHead` to `end` only when it is an error; successes are untouched.
 * A refused handshake (403) is named by the edge's own refusal (`origin_not_allowed`,
 * `host_not_allowed`). WebSocket upgrades are refused on the raw socket by engine.io and stay so.
 */
export function engineErrorEnvelope(refusalOf: (req: IncomingMessage) => EdgeRefusal): EngineMiddleware {
  return (req, res, next) => {
    if (res instanceof ServerResponse) holdErrors(req, res, refusalOf);
    next();
  };
}

function holdErrors(req: IncomingMessage, res: ServerResponse, refusalOf: (req: IncomingMessage) => EdgeRefusal): void {
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  const end = res.end as (...args: unknown[]) => ServerResponse;
  let held: unknown[] | null = null;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (typeof args[0] !== 'number' || args[0] < 400) return writeHead.apply(this, args);
    held = args;
    return this;
  } as typeof res.writeHead;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (!held) return end.apply(this, args);
    const status = held[0] as number;
    const text = typeof args[0] === 'string' || Buffer.isBuffer(args[0]) ? String(args[0]) : '';
    // Already the envelope (the gateway's own 408 for a request too slow): as it was written.
    if (isEnvelope(text)) {
      writeHead.apply(this, held);
      return end.apply(this, args);
    }
    const body = JSON.stringify({ error: errorOf(status, text, req, refusalOf) });
    const headers: OutgoingHttpHeaders = { ...ESSENTIAL_SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) };
    writeHead.call(this, status, headers);
    return end.call(this, body);
  } as typeof res.end;
}

function isEnvelope(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    return typeof parsed?.error === 'object' && parsed.error !== null;
  } catch {
    return false;
  }
}

function errorOf(status: number, text: string, req: IncomingMessage, refusalOf: (req: IncomingMessage) => EdgeRefusal): { code: string; message: string; details?: unknown } {
  const refusal = status === 403 ? refusalOf(req) : null;
  if (refusal) return { code: refusal.code, message: refusal.message };
  let engine: { code?: unknown; message?: unknown } = {};
  try {
    engine = text ? (JSON.parse(text) as typeof engine) : {};
  } catch {
    // a bare status from a transport
  }
  const engineCode = typeof engine.code === 'number' ? engine.code : undefined;
  const code = (engineCode !== undefined && ENGINE_ERROR_CODES[engineCode]) || (status >= 500 ? 'internal' : errorCodeForStatus(status));
  const message = typeof engine.message === 'string' && engine.message ? `Socket.IO: ${engine.message}` : `Socket.IO refused the request (${status})`;
  return engineCode === undefined ? { code, message } : { code, message, details: { engineCode } };
}
