import { io, type Socket } from 'socket.io-client';
import { CLIENT_EVENTS, JOB_EVENT_NAMES, TERMINAL_EVENTS, type JobEventName } from '@anime/contracts';
import { CliError } from './cli-error';
import type { ApiClient } from './api-client';

export interface WatchedEvent {
  name: JobEventName;
  payload: { jobId: string; seq: number; [field: string]: unknown };
}

/**
 * Follows one generation over Socket.IO until its terminal event: the gateway replays the story so
 * far, then relays each new event. `onEvent` sees every event in order.
 */
export async function watchJob(api: ApiClient, jobId: string, onEvent: (event: WatchedEvent) => void): Promise<WatchedEvent> {
  const socket: Socket = io(api.baseUrl, { transports: ['websocket'], reconnection: true, auth: api.key ? { token: api.key } : {} });
  try {
    return await new Promise<WatchedEvent>((resolve, reject) => {
      let lastSeq = 0;
      for (const name of JOB_EVENT_NAMES) {
        socket.on(name, (payload: WatchedEvent['payload']) => {
          if (payload?.jobId !== jobId || payload.seq <= lastSeq) return;
          lastSeq = payload.seq;
          const event = { name, payload };
          onEvent(event);
          if (TERMINAL_EVENTS.includes(name)) resolve(event);
        });
      }
      socket.on('connect_error', (error) => {
        // Refusals are final; a gateway restarting is retried by the client.
        if (!socket.active) reject(new CliError(`cannot follow ${jobId} over Socket.IO: ${error.message}`));
      });
      // (Re)subscribing after a reconnection replays what was missed, each event once (by seq).
      socket.on('connect', async () => {
        const ack = await socket.timeout(10_000).emitWithAck(CLIENT_EVENTS.subscribe, { jobId }).catch((error: Error) => ({ ok: false, error: { code: 'timeout', message: error.message } }));
        if (!ack?.ok) reject(new CliError(`cannot follow ${jobId}: ${ack?.error?.code}: ${ack?.error?.message ?? ''}`.trim()));
      });
    });
  } finally {
    socket.close();
  }
}
