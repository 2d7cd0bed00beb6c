import type { Socket } from 'socket.io';
import { CLIENT_EVENTS } from '@anime/contracts';

export type Ack = (answer: unknown) => void;

/**
 * A client message's payload and its acknowledgement. Socket.IO passes the acknowledgement as the
 * last argument, whatever the client sent before it: `emit('subscribe', { jobId }, 'extra', cb)`
 * or `emit('ops:join', cb)` are answered too, not left waiting. The payload is the first argument
 * (undefined when the acknowledgement is the only one); any others are ignored.
 */
export function messageArgs(args: unknown[]): { payload: unknown; reply: Ack } {
  const last = args[args.length - 1];
  const ack = typeof last === 'function' ? (last as Ack) : undefined;
  const payload = ack && args.length === 1 ? undefined : args[0];
  return { payload, reply: ack ?? (() => undefined) };
}

const KNOWN_EVENTS: readonly unknown[] = Object.values(CLIENT_EVENTS);

/** A message of no event the gateway takes is dropped, and answered `unknown_event` when it asked for an answer. */
export function refuseUnknownEvents(socket: Socket): void {
  socket.use((packet, next) => {
    if (KNOWN_EVENTS.includes(packet[0])) return next();
    const { reply } = messageArgs(packet.slice(1));
    reply({ ok: false, error: { code: 'unknown_event', message: `the gateway takes only ${KNOWN_EVENTS.join(', ')}` } });
  });
}
