import { io, type Socket } from 'socket.io-client';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

/**
 * Socket.IO hands a message's acknowledgement over as its last argument: a client that sends it
 * first (no payload), after extra arguments, or with an event the gateway does not take, is answered
 * all the same, rather than left waiting for an answer that never comes.
 */
let gateway: TestGateway;
let socket: Socket;
let jobId: string;

beforeAll(async () => {
  gateway = await startTestGateway('socket-message-args');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  jobId = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'args' })).body.id;
  socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
});
afterAll(async () => {
  socket?.close();
  await gateway?.close();
});

/** The answer to `emit(...args, ack)`, or 'no answer' after 2 s. */
const answer = (...args: unknown[]) =>
  new Promise<unknown>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 2_000);
    socket.emit(...(args as [string]), (reply: unknown) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });

describe('Socket.IO acknowledgements, wherever the client puts them', () => {
  it('when subscribe, unsubscribe or ops:join carry an extra argument before the ack, then each is answered as without it', async () => {
    expect(await answer('subscribe', { jobId }, 'extra')).toEqual({ ok: true, status: 'queued' });
    expect(await answer('unsubscribe', { jobId }, 1, 2)).toEqual({ ok: true });
    expect(await answer('ops:join', {}, 'extra')).toEqual({ ok: true });
    expect(await answer('ops:leave', {}, 'extra')).toEqual({ ok: true });
  });

  it('when subscribe or unsubscribe carry only the ack, then each is answered validation_failed', async () => {
    expect(await answer('subscribe')).toEqual({ ok: false, error: { code: 'validation_failed', message: 'subscribe needs { jobId: <uuid> }' } });
    expect(await answer('unsubscribe')).toEqual({ ok: false, error: { code: 'validation_failed', message: 'unsubscribe needs { jobId: <uuid> }' } });
  });

  it('when an event the gateway does not take asks for an answer, then it is answered unknown_event, and the connection goes on', async () => {
    expect(await answer('hack', { jobId })).toEqual({ ok: false, error: { code: 'unknown_event', message: 'the gateway takes only subscribe, unsubscribe, ops:join, ops:leave' } });
    expect(await answer('x'.repeat(10_000))).toMatchObject({ ok: false, error: { code: 'unknown_event' } });
    expect(await answer('subscribe', { jobId })).toEqual({ ok: true, status: 'queued' });
    expect(socket.connected).toBe(true);
  });
});
