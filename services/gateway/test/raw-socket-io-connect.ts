import { WebSocket } from 'undici';

/** What the gateway answered a CONNECT packet sent by hand: its first Socket.IO packet, or `closed` when it closed the transport without one. */
export type ConnectAnswer = { packet: string } | { closed: true };

/**
 * Opens an engine.io WebSocket to the gateway and sends `connectPacket` (e.g. `40{"token":"…"}`, or
 * `40"a string"` which socket.io-client never sends) as the Socket.IO CONNECT, bypassing the client's
 * own shaping of `auth`. Resolves with the first Socket.IO packet answered (a `40…` CONNECT or a
 * `44…` CONNECT_ERROR), or `closed` when the transport closed first.
 */
export function sendRawConnect(baseUrl: string, connectPacket: string, timeoutMs = 5_000): Promise<ConnectAnswer> {
  const url = new URL('/socket.io/?EIO=4&transport=websocket', baseUrl.replace(/^http/, 'ws'));
  const ws = new WebSocket(url);
  return new Promise<ConnectAnswer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${connectPacket} within ${timeoutMs} ms`)), timeoutMs);
    const done = (answer: ConnectAnswer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error(`the WebSocket to ${url} failed`));
    });
    ws.addEventListener('close', () => done({ closed: true }));
    ws.addEventListener('message', (event) => {
      const text = String(event.data);
      // engine.io's open packet: the session is there; now the Socket.IO CONNECT.
      if (text.startsWith('0')) return ws.send(connectPacket);
      // A Socket.IO packet (engine.io message `4`), not a ping.
      if (text.startsWith('4')) done({ packet: text });
    });
  }).finally(() => ws.close());
}
