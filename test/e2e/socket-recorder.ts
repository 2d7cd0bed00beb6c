import { io, type Socket } from 'socket.io-client';
import { JOB_EVENT_NAMES, TERMINAL_EVENTS } from '@anime/contracts';

export interface RecordedEvent {
  name: string;
  payload: { jobId: string; seq: number; [key: string]: unknown };
}

/** A Socket.IO client (authenticated with `token`) subscribed to one job, recording every event it receives in order. */
export async function recordJobEvents(gatewayUrl: string, jobId: string, token: string) {
  const socket: Socket = io(gatewayUrl, { transports: ['websocket'], forceNew: true, auth: { token } });
  const events: RecordedEvent[] = [];
  let resolveEnd!: () => void;
  const ended = new Promise<void>((resolve) => (resolveEnd = resolve));
  for (const name of JOB_EVENT_NAMES) {
    socket.on(name, (payload: RecordedEvent['payload']) => {
      events.push({ name, payload });
      if (TERMINAL_EVENTS.includes(name)) resolveEnd();
    });
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const ack = await socket.timeout(10_000).emitWithAck('subscribe', { jobId });
  return {
    ack,
    events,
    ended: async (timeoutMs = 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no terminal event; got ${events.map((e) => e.name).join(', ')}`)), timeoutMs);
      });
      try {
        return await Promise.race([ended, expired]);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => socket.close(),
  };
}
