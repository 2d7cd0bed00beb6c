import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ESSENTIAL_SECURITY_HEADERS } from '@anime/pipeline';
import { errorCodeForStatus } from '../status-error-code';

// Long enough for a client still sending (a 100 kB URL) to read the answer before the close: a
// socket destroyed with unread input sends a reset, which may discard the answer at the client.
const LINGER_MS = 1_000;

/** Connections this listener answered and left lingering: each further chunk on them is reported again. */
const answered = new WeakSet<Socket>();

/** The status Node itself answers each 'clientError' with (lib/_http_server.js, socketOnError). */
function statusOf(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

const MESSAGES: Readonly<Record<number, string>> = {
  431: 'the request line and headers are larger than the gateway accepts',
  413: 'the chunk extensions of the body are larger than the gateway accepts',
  408: 'the request was not received in time',
  400: 'the request is not valid HTTP/1.1',
};

/**
 * The gateway server's 'clientError' listener: Node's HTTP parser refused a request (too large,
 * malformed, too slow) before Express or Socket.IO saw it. Node's own answer has no body; this one
 * is the JSON of every other refusal, written raw as there is no response object. As Node does,
 * nothing is written on a connection that cannot take it or whose response has begun.
 */
export function answerClientError(error: Error & { code?: string; reason?: string }, socket: Socket): void {
  if (answered.has(socket)) return;
  // The response under way on this connection, if any: what Node's own listener looks at too.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = statusOf(error.code);
  const message = status === 400 && error.reason ? `${MESSAGES[400]}: ${error.reason}` : MESSAGES[status];
  const body = JSON.stringify({ error: { code: errorCodeForStatus(status), message } });
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...ESSENTIAL_SECURITY_HEADERS };
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)].join('\r\n');
  answered.add(socket);
  socket.end(`${head}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
