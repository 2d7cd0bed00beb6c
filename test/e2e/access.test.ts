import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import axios from 'axios';
import { io, type Socket } from 'socket.io-client';
import { mintKey } from '@anime/api-keys';
import { waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('access on the compiled stack (AUTH_MODE on by default)', () => {
  let fx: StackFixture;
  beforeAll(async () => {
    fx = await startStackFixture('e2e-access');
  });
  afterAll(() => fx?.close());

  it("when another key's Socket.IO client listens while 10 jobs of a first key complete, then it receives nothing and its subscribes are not_found; without a key REST is 401", async () => {
    const noKey = await axios.get(`${fx.stack.gatewayUrl}/api/v1/generations`, { validateStatus: () => true });
    expect(noKey.status).toBe(401);
    expect(noKey.data.error.code).toBe('unauthenticated');
    // With auth on the gateway listens on every interface (what makes the AUTH_MODE=off check below meaningful).
    const external = externalAddress();
    if (external) expect(await accepts(external, Number(new URL(fx.stack.gatewayUrl).port))).toBe(true);

    const { key: firstKey } = await mintKey(fx.db, { name: 'studio-one', scopes: ['read', 'generate'], projects: ['one'] });
    const { key: secondKey } = await mintKey(fx.db, { name: 'studio-two', scopes: ['read', 'generate'], projects: ['two'] });
    const client = (token: string) => {
      const socket: Socket = io(fx.stack.gatewayUrl, { transports: ['websocket'], forceNew: true, auth: { token } });
      const heard: string[] = [];
      socket.onAny((name: string) => heard.push(name));
      return { socket, heard, ready: new Promise<void>((resolve, reject) => (socket.once('connect', () => resolve()), socket.once('connect_error', reject))) };
    };
    const first = client(firstKey);
    const second = client(secondKey);
    try {
      await Promise.all([first.ready, second.ready]);
      const api = axios.create({ baseURL: fx.stack.gatewayUrl, validateStatus: () => true, headers: { Authorization: `Bearer ${firstKey}` } });
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const created = await api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: `shot ${i}`, project: 'one', width: 64, height: 64, steps: 2 });
        expect(created.status).toBe(202);
        ids.push(created.data.id);
        expect(await first.socket.timeout(10_000).emitWithAck('subscribe', { jobId: created.data.id })).toMatchObject({ ok: true });
        expect(await second.socket.timeout(10_000).emitWithAck('subscribe', { jobId: created.data.id })).toMatchObject({ ok: false, error: { code: 'not_found' } });
      }
      for (const id of ids) expect((await waitForGenerationEnd(fx, id)).status).toBe('completed');
      // The row commits before its event is published: REST may show the last job completed a few ms
      // before its job:completed reaches the socket (seen once under CI load), so that is waited for.
      await waitFor(async () => first.heard.filter((n) => n === 'job:completed').length >= 10 || null, 'the first key to hear the 10 completions', 10_000, 20);
      expect(first.heard.filter((n) => n === 'job:completed')).toHaveLength(10);
      expect(second.heard).toEqual([]);
      // The second key does not see them over REST either.
      const asSecond = axios.create({ baseURL: fx.stack.gatewayUrl, validateStatus: () => true, headers: { Authorization: `Bearer ${secondKey}` } });
      expect((await asSecond.get('/api/v1/generations')).data.items).toEqual([]);
      expect((await asSecond.get(`/api/v1/generations/${ids[0]}`)).status).toBe(404);
      const assetId = (await api.get(`/api/v1/generations/${ids[0]}`)).data.assets[0].id;
      expect((await asSecond.get(`/api/v1/assets/${assetId}/file`)).status).toBe(404);
      expect((await api.get(`/api/v1/assets/${assetId}/file`)).status).toBe(200);
    } finally {
      first.socket.close();
      second.socket.close();
    }
  });
});

describe('AUTH_MODE=off on the compiled stack', () => {
  let fx: StackFixture;
  beforeAll(async () => {
    fx = await startStackFixture('e2e-auth-off', { extraEnv: { AUTH_MODE: 'off' } });
  });
  afterAll(() => fx?.close());

  it('when auth is off, then the gateway answers without a key on 127.0.0.1 and accepts no connection on any other address', async () => {
    const open = await axios.get(`${fx.stack.gatewayUrl}/api/v1/characters`, { validateStatus: () => true });
    expect(open.status).toBe(200);
    const port = Number(new URL(fx.stack.gatewayUrl).port);
    expect(await accepts('127.0.0.1', port)).toBe(true);
    const external = externalAddress();
    // A machine with only a loopback interface has nothing else to try.
    if (external) expect(await accepts(external, port)).toBe(false);
  });
});
