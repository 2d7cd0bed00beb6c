import axios from 'axios';
import { io as connect, type Socket } from 'socket.io-client';
import { mintKey } from '@anime/api-keys';
import { JOB_EVENT_NAMES, PIPELINE_CATALOG } from '@anime/contracts';
import type { StackInstance } from '@anime/stack';
import { waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

interface WallEvent {
  name: string;
  payload: { jobId: string; seq: number };
}

async function socketOn(url: string, token: string): Promise<Socket> {
  const socket = connect(url, { transports: ['websocket'], forceNew: true, auth: { token } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/** An ops-room member recording every job event it hears. */
function recordWall(socket: Socket): WallEvent[] {
  const events: WallEvent[] = [];
  for (const name of JOB_EVENT_NAMES) socket.on(name, (payload: WallEvent['payload']) => events.push({ name, payload }));
  return events;
}

/**
 * The operators' tools on a real stack with two gateway processes: bull-board at /admin/queues
 * (admin acts, read looks, nobody else gets in; its retry re-runs a failed generation) and the
 * Socket.IO `ops` room (every job's events, once each, on whichever gateway the admin is connected to).
 */
describe('bull-board and the ops room', () => {
  let fx: StackFixture;
  let gatewayB: StackInstance;
  let readKey: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    fx = await startStackFixture('ops-board', { simulatorStepMs: 40 });
    gatewayB = await fx.stack.addInstance('gateway');
    readKey = (await mintKey(fx.db, { name: 'ops-read', scopes: ['read'] })).key;
  }, 120_000);

  afterAll(async () => {
    for (const s of sockets) s.close();
    await fx?.close();
  });

  const board = (path: string, headers: Record<string, string> = {}, method = 'get') =>
    axios.request({ method, url: `${fx.stack.gatewayUrl}/admin/queues${path}`, headers, validateStatus: () => true });

  it('when /admin/queues is opened without a key, then it is 401 asking for HTTP Basic; a read key sees it read-only and may not act; an admin key (as the Basic password) gets the full board', async () => {
    const anonymous = await board('');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(anonymous.data).toMatchObject({ error: { code: 'unauthenticated' } });
    expect((await board('/api/queues', { authorization: 'Basic ' + Buffer.from('ops:wrong-key').toString('base64') })).status).toBe(401);

    const asReader = await board('/api/queues', { authorization: `Bearer ${readKey}` });
    expect(asReader.status).toBe(200);
    const names = asReader.data.queues.map((q: { name: string }) => q.name).sort();
    // Every queue of the pipeline catalog, webhook deliveries included.
    expect(names).toEqual(Object.values(PIPELINE_CATALOG).map((q) => q.name).sort());
    expect(asReader.data.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
    const readerPause = await board('/api/queues/generation-renders/pause', { authorization: `Bearer ${readKey}` }, 'put');
    expect(readerPause.status).toBe(403);
    expect(readerPause.data).toMatchObject({ error: { code: 'insufficient_scope', details: { scope: 'admin' } } });
    const limited = (await mintKey(fx.db, { name: 'ops-limited', scopes: ['admin'], projects: ['other'] })).key;
    expect((await board('/api/queues', { authorization: `Bearer ${limited}` })).status).toBe(403);

    const basicAdmin = { authorization: 'Basic ' + Buffer.from(`ops:${fx.apiKey}`).toString('base64') };
    const page = await board('/', basicAdmin);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const asAdmin = await board('/api/queues', basicAdmin);
    expect(asAdmin.data.queues.every((q: { readOnlyMode: boolean }) => !q.readOnlyMode)).toBe(true);
  });

  it("when a failed generation's render job is retried through bull-board's own API, then the generation runs again and completes (attempt 2), announced on the ops room", async () => {
    const wallSocket = await socketOn(gatewayB.url, fx.apiKey);
    sockets.push(wallSocket);
    expect(await wallSocket.timeout(10_000).emitWithAck('ops:join', {})).toEqual({ ok: true });
    const wall = recordWall(wallSocket);

    await axios.post(`${fx.stack.comfyUrls[0]}/sim/fail-next`, { kind: 'execution_error', message: 'simulated out of memory' });
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'retried from the board', steps: 3, seed: 11 });
    const id = res.data.id as string;
    expect(await waitForGenerationEnd(fx, id)).toMatchObject({ status: 'failed', error: { code: 'comfyui_execution' } });

    const retry = await board(`/api/queues/generation-renders/render-${id}/retry`, { authorization: `Bearer ${fx.apiKey}` }, 'put');
    expect(retry.status).toBeLessThan(300);
    const done = await waitFor(async () => {
      const g = (await fx.api.get(`/api/v1/generations/${id}`)).data;
      return g.status === 'completed' ? g : null;
    }, 'the retried generation to complete', 60_000, 100);
    expect(done.attempts).toHaveLength(2);
    expect(done.assets.length).toBeGreaterThan(0);
    await waitFor(async () => wall.some((e) => e.payload.jobId === id && e.name === 'job:completed') || null, 'the wall to see it complete', 10_000, 50);
    const names = wall.filter((e) => e.payload.jobId === id && e.name !== 'job:progress').map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['job:queued', 'job:failed', 'job:retrying', 'job:completed']));
    // Retrying the now completed render job does not run or "complete" it again: 409, saying why, the job left as it is.
    const refused = await board(`/api/queues/generation-renders/render-${id}/retry`, { authorization: `Bearer ${fx.apiKey}` }, 'put');
    expect({ status: refused.status, code: refused.data.error?.code }).toEqual({ status: 409, code: 'not_retryable' });
    expect(refused.data.error.message).toBe(`generation ${id} is completed: generation-renders has nothing to run again`);
    expect((await board(`/api/queues/generation-renders/render-${id}`, { authorization: `Bearer ${fx.apiKey}` })).data.status).toBe('completed');
    expect((await fx.api.get(`/api/v1/generations/${id}`)).data).toMatchObject({ status: 'completed', attempts: [expect.anything(), expect.anything()] });
    console.log(`bull-board retry: generation ${id} failed, retried through PUT …/retry, completed as attempt ${done.attempts.length}; wall saw ${names.join(', ')}`);
  });

  it('when an admin on gateway B is in the ops room and a job is submitted through gateway A, then B relays every event of it exactly once; a read key may not join', async () => {
    const reader = await socketOn(gatewayB.url, readKey);
    sockets.push(reader);
    expect(await reader.timeout(10_000).emitWithAck('ops:join', {})).toEqual({ ok: false, error: expect.objectContaining({ code: 'insufficient_scope' }) });
    const readerHeard = recordWall(reader);

    const onB = await socketOn(gatewayB.url, fx.apiKey);
    const onA = await socketOn(fx.stack.gatewayUrl, fx.apiKey);
    sockets.push(onA, onB);
    for (const s of [onA, onB]) expect(await s.timeout(10_000).emitWithAck('ops:join', {})).toEqual({ ok: true });
    const wallB = recordWall(onB);
    const wallA = recordWall(onA);

    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'on the wall', steps: 20, seed: 12 });
    const id = res.data.id as string;
    expect(await waitForGenerationEnd(fx, id)).toMatchObject({ status: 'completed' });
    await waitFor(async () => (wallB.some((e) => e.payload.jobId === id && e.name === 'job:completed') && wallA.some((e) => e.payload.jobId === id && e.name === 'job:completed')) || null, 'both walls to see the end', 10_000, 50);
    // A moment for any duplicate still in flight through the adapter to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const stored = await fx.db.jobEvent.findMany({ where: { jobId: id }, orderBy: { seq: 'asc' } });
    for (const wall of [wallA, wallB]) {
      const mine = wall.filter((e) => e.payload.jobId === id);
      const seqs = mine.map((e) => e.payload.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(mine.filter((e) => e.name !== 'job:progress').map((e) => `${e.payload.seq}:${e.name}`)).toEqual(stored.map((e) => `${e.seq}:${e.type}`));
    }
    expect(wallB.filter((e) => e.payload.jobId === id && e.name === 'job:progress').length).toBeGreaterThan(1);
    expect(readerHeard).toHaveLength(0);
    console.log(`ops room: gateway B relayed ${wallB.filter((e) => e.payload.jobId === id).length} events of the job, gateway A ${wallA.filter((e) => e.payload.jobId === id).length}, no seq twice; the read key heard ${readerHeard.length}`);
  });
});
