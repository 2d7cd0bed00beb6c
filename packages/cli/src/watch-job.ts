import type { Socket } from 'socket.io-client';
import { CLIENT_EVENTS, JOB_EVENT_NAMES, TERMINAL_EVENTS, type JobEventName } from '@anime/contracts';
import { CliError } from './cli-error';
import type { ApiClient } from './api-client';

export interface WatchedEvent {
  name: JobEventName;
  payload: { jobId: string; seq: number; [field: string]: unknown };
}

/** How long a subscribe may go unanswered: the gateway answers within its database's bound (10 s) and more. */
const SUBSCRIBE_TIMEOUT_MS = 20_000;
/**
 * Subscribe answers (and handshake refusals) that mean "not now": the gateway's database is away, did
 * not answer in time, or the key's subscribes queue up.
 */
const SUBSCRIBE_LATER = ['database_unavailable', 'timeout', 'rate_limited'];
/**
 * Handshake refusals that mean "not now": those of a subscribe, and the key holding all the
 * connections it may (SOCKET_MAX_CONNECTIONS_PER_KEY) for now: its other clients close theirs.
 */
const CONNECT_LATER = [...SUBSCRIBE_LATER, 'too_many_connections'];
/** How long before asking (or connecting) again (the gateway's own Retry-After for database_unavailable is 5 s). */
const SUBSCRIBE_AGAIN_MS = 5_000;

/** The connection to the gateway lost (the client reconnects on its own), then back. */
export type ConnectionChange = { state: 'lost'; reason: string } | { state: 'back' };

/**
 * Follows one generation over Socket.IO until its terminal event: the gateway replays the story so
 * far, then relays each new event. `onEvent` sees every event in order; `onConnection` hears when the
 * gateway goes away and comes back (a restart), so a silent wait is never mistaken for a hang.
 */
export async function watchJob(api: ApiClient, jobId: string, onEvent: (event: WatchedEvent) => void, onConnection?: (change: ConnectionChange) => void): Promise<WatchedEvent> {
  // Loaded here, not at the top: only a watch needs it, and it cost every command ~30 ms of start.
  const { io } = await import('socket.io-client');
  const socket: Socket = io(api.baseUrl, { transports: ['websocket'], reconnection: true, auth: api.key ? { token: api.key } : {} });
  let connectAgain: NodeJS.Timeout | undefined;
  try {
    return await new Promise<WatchedEvent>((resolve, reject) => {
      let lastSeq = 0;
      let lost = false;
      const back = () => {
        if (lost) onConnection?.({ state: 'back' });
        lost = false;
      };
      for (const name of JOB_EVENT_NAMES) {
        socket.on(name, (payload: WatchedEvent['payload']) => {
          if (payload?.jobId !== jobId) return;
          // The job's story coming in again (the replay, before the subscribe's answer): the gateway is
          // back. Said first, so that it is said at all when the replay ends the job: the watch closes
          // the connection then, and an answer still on its way is never read.
          back();
          if (payload.seq <= lastSeq) return;
          lastSeq = payload.seq;
          const event = { name, payload };
          onEvent(event);
          if (TERMINAL_EVENTS.includes(name)) resolve(event);
        });
      }
      socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
        // A gateway restarting is retried by the client.
        if (socket.active) return;
        // The gateway could not check the key for now (its database away, at the first connection or a
        // reconnection), or the key's connections are all taken for now: said and tried again, as a
        // subscribe refused for now is. Other refusals are final.
        const code = error.data?.code;
        if (code && CONNECT_LATER.includes(code)) {
          if (!lost) onConnection?.({ state: 'lost', reason: code });
          lost = true;
          connectAgain = setTimeout(() => socket.connect(), SUBSCRIBE_AGAIN_MS);
          return;
        }
        reject(new CliError(`cannot follow ${jobId} over Socket.IO: ${error.message}`));
      });
      // The gateway closes a connection whose key was revoked or expired since the handshake, and the
      // client never reconnects after that: without this the watch would wait forever (or, with nothing
      // else keeping the process alive, exit 0). REST says why (a 401 naming revoked or expired).
      // Any other loss (a restart, a cut) is reconnected by the client: said, then waited through.
      socket.on('disconnect', (reason) => {
        if (reason === 'io client disconnect') return;
        if (reason !== 'io server disconnect') {
          lost = true;
          onConnection?.({ state: 'lost', reason });
          return;
        }
        api.get(`/api/v1/generations/${jobId}`).then(
          () => reject(new CliError(`the gateway closed the connection following ${jobId}; anime show ${jobId} tells where it stands`)),
          (error: unknown) => reject(error instanceof CliError ? error : new CliError(`the gateway closed the connection following ${jobId}: ${(error as Error).message}`)),
        );
      });
      // (Re)subscribing after a reconnection replays what was missed, each event once (by seq).
      const subscribe = async (): Promise<void> => {
        const ack = await socket.timeout(SUBSCRIBE_TIMEOUT_MS).emitWithAck(CLIENT_EVENTS.subscribe, { jobId }).catch((error: Error) => ({ ok: false, error: { code: 'timeout', message: error.message } }));
        // The connection closed for good while the answer was awaited (the watch ended, a replay having
        // brought the terminal event first, or the gateway closed it): nothing more to say or ask.
        if (!socket.active) return;
        if (ack?.ok) return back();
        // The gateway's database away (or too slow to answer): a refusal for now, said and waited
        // through as a gateway restart is, not the end of the watch. It is asked again while this
        // connection lasts (a new one subscribes anew).
        if (SUBSCRIBE_LATER.includes(ack?.error?.code)) {
          if (!lost) onConnection?.({ state: 'lost', reason: ack.error.code });
          lost = true;
          const connection = socket.id;
          setTimeout(() => {
            if (socket.connected && socket.id === connection) void subscribe();
          }, SUBSCRIBE_AGAIN_MS);
          return;
        }
        reject(new CliError(`cannot follow ${jobId}: ${ack?.error?.code}: ${ack?.error?.message ?? ''}`.trim()));
      };
      socket.on('connect', () => void subscribe());
    });
  } finally {
    clearTimeout(connectAgain);
    socket.close();
  }
}
