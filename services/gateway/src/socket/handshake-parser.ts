import { Decoder, Encoder, PacketType } from 'socket.io-parser';

/**
 * Set on the `auth` of a handshake whose CONNECT packet carried no object (`40"ak_…"`, `40-1`,
 * `40null`, `40[…]`, or text that is not JSON): Socket.IO's own parser throws on it, and the
 * connection was closed without a `connect_error`, the client left to guess why.
 */
export const UNREADABLE_AUTH = Symbol('unreadable handshake auth');

/** Whether a handshake's auth is the stand-in for one that was no object. */
export function isUnreadableAuth(auth: unknown): boolean {
  return typeof auth === 'object' && auth !== null && UNREADABLE_AUTH in auth;
}

/**
 * The Socket.IO parser (`new Server({ parser })`) with one difference: a CONNECT whose payload is no
 * object is decoded as a CONNECT whose auth is marked UNREADABLE_AUTH, so that the handshake's
 * middleware refuses it with a `connect_error` as it refuses a bad key. Every other packet, and a
 * CONNECT the default parser accepts, is decoded by the default parser.
 */
export const handshakeParser = { Encoder, Decoder: class HandshakeDecoder extends Decoder {
  override add(chunk: unknown): void {
    const unreadable = typeof chunk === 'string' ? unreadableConnect(chunk) : null;
    if (unreadable) return void this.emitReserved('decoded', unreadable);
    super.add(chunk);
  }
} };

/**
 * A CONNECT packet (`0[/nsp,][id][payload]`, read as socket.io-parser reads it) whose payload is
 * there but no JSON object, as the packet to decode it to; null for any other text.
 */
function unreadableConnect(text: string) {
  if (text.charAt(0) !== String(PacketType.CONNECT)) return null;
  let at = 1;
  let nsp = '/';
  if (text.charAt(1) === '/') {
    const comma = text.indexOf(',', 1);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(1, end);
    at = end + 1;
  }
  // The parser reads what follows as an ack id while it reads as a number (digits, and whitespace).
  while (at < text.length && !Number.isNaN(Number(text.charAt(at)))) at++;
  const payload = text.slice(at);
  if (!payload || isJsonObject(payload)) return null;
  return { type: PacketType.CONNECT, nsp, data: { [UNREADABLE_AUTH]: true } };
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
