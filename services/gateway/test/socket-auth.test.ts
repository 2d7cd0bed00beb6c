import { EventEmitter } from 'node:events';
import type { Socket as IoSocket } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import type { Caller } from '../src/http/auth/caller';
import type { KeyAuthenticator } from '../src/http/auth/authenticate-key';
import { authenticateSocket } from '../src/socket/authenticate-socket';
import { sendRawConnect } from './raw-socket-io-connect';

const MAX_SUBSCRIPTIONS = 5;
let gateway: TestGateway;
const sockets: Socket[] = [];

beforeAll(async () => {
  gateway = await startTestGateway('socket-auth', { socketMaxSubscriptions: MAX_SUBSCRIPTIONS, socketKeyRecheckMs: 300 });
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await gateway?.close();
});

function connect(token?: unknown, on: TestGateway = gateway): Promise<Socket> {
  const socket = io(on.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, ...(token === undefined ? {} : { auth: { token } }) });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Every event a socket receives, whatever its name. */
function record(socket: Socket) {
  const events: { name: string; payload: { jobId?: string } }[] = [];
  socket.onAny((name: string, payload: { jobId?: string }) => events.push({ name, payload }));
  return events;
}

const subscribe = (socket: Socket, jobId: string) => socket.timeout(5_000).emitWithAck('subscribe', { jobId });

describe('Socket.IO with API keys', () => {
  it('when a client connects without a key or with a bad, unknown or revoked one, then the handshake fails with connect_error "unauthenticated"', async () => {
    await expect(connect()).rejects.toThrow('unauthenticated');
    await expect(connect('nope')).rejects.toThrow('unauthenticated');
    await expect(connect(42)).rejects.toThrow('unauthenticated');
    await expect(connect(`ak_${'B'.repeat(43)}`)).rejects.toThrow('unauthenticated');
    const revoked = await gateway.mintKey({ name: 'socket-revoked', scopes: ['read'] });
    await gateway.db.apiKey.updateMany({ where: { name: 'socket-revoked' }, data: { revokedAt: new Date() } });
    await expect(connect(revoked)).rejects.toThrow('unauthenticated');
  });

  it('when a handshake\'s auth is not an object (a string, a number, true, an array, null, or not JSON), then it is refused with connect_error "unauthenticated" saying so, not closed without a word', async () => {
    // (`4042` would be read as an ack id 42 and no auth at all, so the number is negative.)
    for (const auth of ['"ak_token"', '-42', 'true', `["${gateway.apiKey}"]`, 'null', '{"token":']) {
      const answer = await sendRawConnect(gateway.baseUrl, `40${auth}`);
      expect({ auth, answer }).toEqual({ auth, answer: { packet: expect.stringMatching(/^44/) } });
      const refusal = JSON.parse((answer as { packet: string }).packet.slice(2));
      expect(refusal).toEqual({ message: 'unauthenticated', data: { code: 'unauthenticated', message: expect.stringMatching(/auth must be an object.*token/) } });
    }
    // An object is read as before: a valid key connects, a bad one is refused as any bad key is.
    expect(await sendRawConnect(gateway.baseUrl, `40${JSON.stringify({ token: gateway.apiKey })}`)).toEqual({ packet: expect.stringMatching(/^40\{"sid":/) });
    const bad = await sendRawConnect(gateway.baseUrl, '40{"token":"nope"}');
    expect(JSON.parse((bad as { packet: string }).packet.slice(2))).toMatchObject({ message: 'unauthenticated', data: { code: 'unauthenticated' } });
  });

  it("when a second key's client listens, then it receives nothing of the first key's jobs across 20 jobs, and its subscribe to them is not_found", async () => {
    const firstKey = await gateway.mintKey({ name: 'studio-a', scopes: ['read', 'generate'], projects: ['studio-a'] });
    const secondKey = await gateway.mintKey({ name: 'studio-b', scopes: ['read', 'generate'], projects: ['studio-b'] });
    const first = await connect(firstKey);
    const second = await connect(secondKey);
    const firstEvents = record(first);
    const secondEvents = record(second);
    const api = gateway.client(firstKey);
    const jobIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const created = await api.post('/api/v1/generations', { character: 'kai', prompt: `frame ${i}`, project: 'studio-a' });
      expect(created.status).toBe(202);
      jobIds.push(created.body.id);
      expect(await subscribe(first, created.body.id)).toMatchObject({ ok: true });
      expect(await subscribe(second, created.body.id)).toEqual({ ok: false, error: { code: 'not_found', message: expect.any(String) } });
      // Live events after the subscribe attempts: the second client is not told about these either.
      expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
      if (i === 4) expect((await api.get('/api/v1/generations')).status).toBe(200);
      // Unsubscribing keeps the first client under its subscription cap; only once its cancel was heard
      // (the event comes through Redis, and may come after the cancel's answer: an unsubscribe first ends it).
      await waitFor(() => firstEvents.some((e) => e.name === 'job:canceled' && e.payload.jobId === created.body.id), `the cancel of job ${i} to reach the first client`);
      await first.timeout(5_000).emitWithAck('unsubscribe', { jobId: created.body.id });
    }
    await waitFor(() => firstEvents.filter((e) => e.name === 'job:canceled').length === 20, 'the first client to see 20 cancels');
    expect(new Set(firstEvents.map((e) => e.payload.jobId))).toEqual(new Set(jobIds));
    expect(secondEvents).toEqual([]);
    // The admin key reaches every project.
    const admin = await connect(gateway.apiKey);
    expect(await subscribe(admin, jobIds[0])).toMatchObject({ ok: true, status: 'canceled' });
  });

  it('when a key without the read scope subscribes, or a job does not exist, then the answer is not_found', async () => {
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'secret' });
    const writer = await connect(await gateway.mintKey({ scopes: ['generate'] }));
    expect(await subscribe(writer, created.body.id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const reader = await connect(await gateway.mintKey({ scopes: ['read'] }));
    expect(await subscribe(reader, '00000000-0000-4000-8000-000000000000')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await subscribe(reader, created.body.id)).toMatchObject({ ok: true });
  });

  it('when a key is revoked after the handshake, then its next subscribe is refused and the connection closed', async () => {
    // A gateway of its own whose periodic re-check of keys does not come first (300 ms above could
    // close the connection before the subscribe is answered): the subscribe's own check is what is tested.
    const slowRecheck = await startTestGateway('socket-auth-subscribe-check', { socketKeyRecheckMs: 600_000 });
    try {
      expect((await slowRecheck.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
      const key = await slowRecheck.mintKey({ name: 'revoked-later', scopes: ['read'] });
      const socket = await connect(key, slowRecheck);
      const created = await slowRecheck.client().post('/api/v1/generations', { character: 'kai', prompt: 'later' });
      await slowRecheck.db.apiKey.updateMany({ where: { name: 'revoked-later' }, data: { revokedAt: new Date() } });
      expect(await subscribe(socket, created.body.id)).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
      await waitFor(() => socket.disconnected, 'the socket to be disconnected');
    } finally {
      await slowRecheck.close();
    }
  });

  it('when a key is revoked while its connection follows a job, then the connection is closed within the re-check interval and hears nothing more', async () => {
    const key = await gateway.mintKey({ name: 'revoked-while-following', scopes: ['read'] });
    const socket = await connect(key);
    const heard = record(socket);
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'followed' });
    expect(await subscribe(socket, created.body.id)).toMatchObject({ ok: true });
    await waitFor(() => heard.some((e) => e.name === 'job:queued'), 'the replayed job:queued');
    const untouched = await connect(gateway.apiKey);
    await gateway.db.apiKey.updateMany({ where: { name: 'revoked-while-following' }, data: { revokedAt: new Date() } });
    await waitFor(() => socket.disconnected, 'the revoked key\'s connection to be closed', 5_000);
    expect((await gateway.client().post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    expect(heard.map((e) => e.name)).toEqual(['job:queued']);
    expect(untouched.connected).toBe(true);
  });

  it(`when a socket follows SOCKET_MAX_SUBSCRIPTIONS (${MAX_SUBSCRIPTIONS}) jobs, then one more is too_many_subscriptions until it unsubscribes from one`, async () => {
    const socket = await connect(gateway.apiKey);
    const ids: string[] = [];
    for (let i = 0; i <= MAX_SUBSCRIPTIONS; i++) ids.push((await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: `n${i}` })).body.id);
    // All at once: the cap holds while the earlier subscribes are still reading their story.
    const answers = await Promise.all(ids.map((id) => subscribe(socket, id)));
    expect(answers.filter((a) => a.ok)).toHaveLength(MAX_SUBSCRIPTIONS);
    const refused = answers.find((a) => !a.ok);
    expect(refused.error.code).toBe('too_many_subscriptions');
    const left = ids[answers.indexOf(refused)];
    // Subscribing again to a job it already follows is not a new subscription.
    expect(await subscribe(socket, ids[answers.findIndex((a) => a.ok)])).toMatchObject({ ok: true });
    await socket.timeout(5_000).emitWithAck('unsubscribe', { jobId: ids[answers.findIndex((a) => a.ok)] });
    expect(await subscribe(socket, left)).toMatchObject({ ok: true });
  });

  it('when one connection follows job after job and unsubscribes from each, then the relay holds none of them, and a connection that closes leaves nothing behind', async () => {
    const held = () => gateway.gateway.followedJobs();
    const before = held();
    const socket = await connect(gateway.apiKey);
    const ids: string[] = [];
    for (let i = 0; i < 3 * MAX_SUBSCRIPTIONS; i++) ids.push((await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: `u${i}` })).body.id);
    for (const id of ids) {
      expect(await subscribe(socket, id)).toMatchObject({ ok: true });
      expect(held()).toBe(before + 1);
      expect(await socket.timeout(5_000).emitWithAck('unsubscribe', { jobId: id })).toEqual({ ok: true });
      expect(held()).toBe(before);
    }
    // An unsubscribe the relay cannot read says why, as a subscribe does.
    for (const bad of [{ jobId: 'not-a-uuid' }, 'x', null]) {
      expect(await socket.timeout(5_000).emitWithAck('unsubscribe', bad)).toEqual({ ok: false, error: { code: 'validation_failed', message: expect.stringContaining('jobId') } });
    }
    for (const id of ids.slice(0, MAX_SUBSCRIPTIONS)) expect(await subscribe(socket, id)).toMatchObject({ ok: true });
    expect(held()).toBe(before + MAX_SUBSCRIPTIONS);
    socket.close();
    await waitFor(() => held() === before, 'the closed connection to be forgotten', 5_000);
  });

  it('when ops:join and ops:leave are emitted with or without a payload, then each is acknowledged, and the room relays job events only while joined', async () => {
    const admin = await connect(gateway.apiKey);
    const events = record(admin);
    // No payload: the acknowledgement is the event's only argument.
    expect(await admin.timeout(5_000).emitWithAck('ops:join')).toEqual({ ok: true });
    const created = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'for the wall' });
    await waitFor(() => events.some((e) => e.name === 'job:queued' && e.payload.jobId === created.body.id), 'the ops room to hear the new job');
    expect(await admin.timeout(5_000).emitWithAck('ops:leave')).toEqual({ ok: true });
    expect(await admin.timeout(5_000).emitWithAck('ops:join', {})).toEqual({ ok: true });
    expect(await admin.timeout(5_000).emitWithAck('ops:leave', {})).toEqual({ ok: true });
    const reader = await connect(await gateway.mintKey({ scopes: ['read'] }));
    expect(await reader.timeout(5_000).emitWithAck('ops:join')).toMatchObject({ ok: false, error: { code: 'insufficient_scope' } });
  });
});

describe('Socket.IO connections per key', () => {
  const MAX_CONNECTIONS = 3;
  let capped: TestGateway;
  const open: Socket[] = [];
  beforeAll(async () => {
    capped = await startTestGateway('socket-connections', { socketMaxConnectionsPerKey: MAX_CONNECTIONS });
  });
  afterAll(async () => {
    for (const socket of open) socket.close();
    await capped?.close();
  });

  function connectTo(token: string): Promise<Socket> {
    const socket = io(capped.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
    open.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  it(`when a key holds SOCKET_MAX_CONNECTIONS_PER_KEY (${MAX_CONNECTIONS}) connections, then one more is refused with too_many_connections naming the limit; another key is not; closing one makes room`, async () => {
    // Once: 5,000 connections of one key took 66 MB of the gateway, and nothing stopped 50,000.
    const key = await capped.mintKey({ name: 'crowd', scopes: ['read'] });
    const held = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => connectTo(key)));
    const refused = await connectTo(key).catch((error: Error & { data?: { code: string; message: string } }) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toBe('too_many_connections');
    expect((refused as Error & { data: { message: string } }).data).toEqual({ code: 'too_many_connections', message: expect.stringContaining(`at most ${MAX_CONNECTIONS}`) });
    expect((refused as Error & { data: { message: string } }).data.message).toContain('SOCKET_MAX_CONNECTIONS_PER_KEY');

    await expect(connectTo(capped.apiKey)).resolves.toBeTruthy();
    held[0].close();
    await waitFor(() => connectTo(key).then(() => true, () => false), 'room for a connection once one closed', 10_000);
    await expect(connectTo(key)).rejects.toThrow('too_many_connections');
  });
});

describe('Socket.IO connections per key, counted by authenticateSocket', () => {
  // A stand-in of what the middleware reads of a Socket.IO socket: its handshake, data and engine connection.
  function fakeSocket() {
    const conn = Object.assign(new EventEmitter(), { readyState: 'open' as string });
    const socket = { handshake: { auth: { token: 'a key' } }, data: {}, conn } as unknown as IoSocket;
    const closeTransport = () => {
      conn.readyState = 'closed';
      conn.emit('close', 'transport close');
    };
    return { socket, closeTransport };
  }
  const caller = { keyId: 'key-1', name: 'crowd', scopes: ['read'], projects: null } as unknown as Caller;

  it('when a connection closes while its key is still being checked, then it is not left counted: the key can connect again up to the limit', async () => {
    let answer: (outcome: { caller: Caller }) => void = () => undefined;
    const slow = new Promise<{ caller: Caller }>((resolve) => (answer = resolve));
    const authenticate = jest.fn<ReturnType<KeyAuthenticator>, Parameters<KeyAuthenticator>>().mockReturnValueOnce(slow).mockResolvedValue({ caller });
    const middleware = authenticateSocket(authenticate, 1);

    // The client goes away mid-handshake (its transport closes) before the key check answers.
    const gone = fakeSocket();
    const goneNext = new Promise<Error | undefined>((resolve) => middleware(gone.socket, resolve));
    gone.closeTransport();
    answer({ caller });
    await goneNext;

    const next = fakeSocket();
    const outcome = await new Promise<Error | undefined>((resolve) => middleware(next.socket, resolve));
    expect(outcome?.message).toBeUndefined();
  });
});
