import type { Server, Socket } from 'socket.io';
import { CLIENT_EVENTS, grants, OPS_ROOM, type JobEventEnvelope } from '@anime/contracts';
import type { Logger } from '@anime/logger';
import type { KeyAuthenticator } from '../http/auth/authenticate-key';
import { SOCKET_TOKEN } from './authenticate-socket';
import { SOCKET_BUSY, type KeyLanes } from './key-lanes';
import { messageArgs } from './message-args';

/**
 * `ops:join` puts an admin connection in the `ops` room, which hears every job's events; any other
 * key gets `insufficient_scope`. A key limited to projects is refused too: the room tells about
 * every project. The key is read again at join, so one revoked since the handshake cannot join.
 */
export function attachOpsRoom(socket: Socket, deps: { authenticateKey: KeyAuthenticator; log: Logger; lanes: KeyLanes }): void {
  socket.on(CLIENT_EVENTS.opsJoin, async (...args: unknown[]) => {
    const { reply } = messageArgs(args);
    // The key is read from the database: in the key's lane, as subscribes are.
    const turn = deps.lanes.run(socket, () => deps.authenticateKey(socket.data[SOCKET_TOKEN] ?? null));
    if (!turn) return reply(SOCKET_BUSY);
    try {
      const outcome = await turn;
      if ('refused' in outcome) return reply({ ok: false, error: { code: 'unauthenticated', message: 'the API key is no longer valid' } });
      if (!grants(outcome.caller.scopes, 'admin') || outcome.caller.projects !== null) {
        return reply({ ok: false, error: { code: 'insufficient_scope', message: 'the ops room needs an admin key not limited to projects', details: { scope: 'admin' } } });
      }
      await socket.join(OPS_ROOM);
      reply({ ok: true });
    } catch (error) {
      deps.log.warn('ops:join failed', { error: (error as Error).message });
      reply({ ok: false, error: { code: 'database_unavailable', message: 'could not check the API key; try again shortly' } });
    }
  });
  socket.on(CLIENT_EVENTS.opsLeave, async (...args: unknown[]) => {
    await socket.leave(OPS_ROOM);
    messageArgs(args).reply({ ok: true });
  });
}

/**
 * Sends a live event to this gateway's own members of the ops room. Every gateway receives every
 * event from Redis pub/sub and relays it to its own connections, so the emit must stay local
 * (`io.local`): through the Redis adapter each gateway would also broadcast to the others' members,
 * and an admin would get each event once per gateway.
 */
export function relayToOpsRoom(io: Server, envelope: JobEventEnvelope): void {
  // Most of the time no admin is watching: a broadcast would still encode the packet first.
  if (!io.sockets.adapter.rooms.get(OPS_ROOM)?.size) return;
  io.local.to(OPS_ROOM).emit(envelope.name, envelope.payload);
}
