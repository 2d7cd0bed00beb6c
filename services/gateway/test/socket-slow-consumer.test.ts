import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { jobEventsChannel, OPS_ROOM } from '@anime/contracts';
import { rateLimitRefusals, slowConsumerDisconnects } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';
import { MAX_UNSENT_PACKETS } from '../src/socket/unread-packets-limit';
import { SOCKET_BUSY, SOCKET_READS_WAITING_PER_KEY } from '../src/socket/key-lanes';
import { SOCKET_MESSAGE_BURST, SOCKET_SLOW_DOWN } from '../src/socket/incoming-messages-limit';

let gateway: TestGateway;
let jobId: string;
/** anime_rate_limit_refusals_total{limit} as this process (the gateway's) counts it. */
const refusals = async (limit: string) => (await rateLimitRefusals.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;
const clients: Socket[] = [];

beforeAll(async () => {
  gateway = await startTestGateway('socket-slow-consumer');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  jobId = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'watched' })).body.id;
});
afterAll(async () => {
  for (const client of clients) client.close();
  await gateway?.close();
});

/** A client with the admin key, in the ops room. */
async function connect(): Promise<Socket> {
  const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
  clients.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  expect(await socket.timeout(5_000).emitWithAck('ops:join', {})).toEqual({ ok: true });
  return socket;
}

/** Stops the client's TCP socket taking data (Engine.IO's websocket transport over `ws`). */
function stopReading(socket: Socket): void {
  (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
}

const connections = () => gateway.gateway.io.engine.clientsCount;

describe('a Socket.IO client that does not read what it is sent', () => {
  it(`when it stops reading while the ops room hears 30 MB of events, then it is disconnected once ${MAX_UNSENT_PACKETS} packets wait for it, while one that reads gets them all`, async () => {
    const cutBefore = (await slowConsumerDisconnects.get()).values[0]?.value ?? 0;
    const reader = await connect();
    const stalled = await connect();
    let heard = 0;
    reader.on('job:progress', () => heard++);
    expect(gateway.gateway.io.sockets.adapter.rooms.get(OPS_ROOM)?.size).toBe(2);
    // The client's own socket stops taking data: the kernel's buffers fill, then the gateway's would.
    stopReading(stalled);
    const redis = new Redis(TEST_REDIS_URL);
    const channel = jobEventsChannel(gateway.queuePrefix);
    const node = 'n'.repeat(10_000);
    for (let seq = 1; seq <= 3_000; seq++) {
      await redis.publish(channel, JSON.stringify({ name: 'job:progress', seq, payload: { jobId, value: seq, max: 3_000, node, seq } }));
    }
    await redis.quit();
    await waitFor(() => connections() === 1, 'the stalled client to be disconnected', 10_000);
    // The one that reads got every event, and is still connected.
    await waitFor(() => heard === 3_000, 'the reader to get every event', 10_000);
    expect(reader.connected).toBe(true);
    // Counted for operators (anime_socket_slow_consumer_disconnects_total): the one cut, not the reader.
    expect((await slowConsumerDisconnects.get()).values[0]?.value).toBe(cutBefore + 1);
  }, 60_000);
});

describe('a Socket.IO client that floods subscribes', () => {
  it(`when one key sends 6,000 subscribes and unsubscribes at once over three connections, then REST requests of another key are answered at once, and past ${SOCKET_READS_WAITING_PER_KEY} waiting the subscribes are rate_limited`, async () => {
    // Three connections of one key, each within its own message rate: the key's lane is what bounds them.
    const flooders = [await connect(), await connect(), await connect()];
    const refusedBefore = await refusals('socket_reads_waiting');
    const answers = new Map<string, number>();
    let answered = 0;
    const perConnection = SOCKET_MESSAGE_BURST / 2 - 1;
    for (const flooder of flooders) {
      for (let i = 0; i < perConnection; i++) {
        flooder.emit('subscribe', { jobId }, (answer: { ok: boolean; error?: { code: string; message: string } }) => {
          const code = answer.ok ? 'ok' : answer.error?.message === SOCKET_BUSY.error.message ? 'lane_full' : (answer.error?.code ?? '?');
          answers.set(code, (answers.get(code) ?? 0) + 1);
          answered++;
        });
        flooder.emit('unsubscribe', { jobId });
      }
    }
    const other = gateway.client(await gateway.mintKey({ scopes: ['read'] }));
    // Sent while the flood is being answered: the database is not all the flood's.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    expect((await other.get(`/api/v1/generations/${jobId}`)).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => answered === 3 * perConnection, 'every subscribe to be answered', 30_000);
    expect(answers.get('ok')).toBeGreaterThan(0);
    expect(answers.get('lane_full')).toBeGreaterThan(0);
    expect([...answers.keys()].sort()).toEqual(['lane_full', 'ok']);
    // Each refusal counted, as the REST limits' are: an operator sees the flood on the dashboard.
    expect((await refusals('socket_reads_waiting')) - refusedBefore).toBe(answers.get('lane_full'));
  }, 60_000);
});

describe('a Socket.IO connection that sends messages without pause', () => {
  it(`when it sends far more than ${SOCKET_MESSAGE_BURST} messages at once, then those over its rate are dropped unread, each ack answered rate_limited at once, and another connection is served as usual`, async () => {
    const flooder = await connect();
    const refusedBefore = await refusals('socket_messages');
    const slowDown: number[] = [];
    const read: number[] = [];
    let answered = 0;
    const sent = 3 * SOCKET_MESSAGE_BURST;
    for (let i = 0; i < sent; i++) {
      flooder.emit('ops:join', {}, (answer: { ok: boolean; error?: { message: string } }) => {
        (answer.error?.message === SOCKET_SLOW_DOWN.error.message ? slowDown : read).push(i);
        answered++;
      });
    }
    await waitFor(() => answered === sent, 'every message to be answered', 30_000);
    // The first ones (a burst's worth, and what the rate refilled meanwhile) were read; the rest were dropped.
    expect(read.length).toBeGreaterThanOrEqual(SOCKET_MESSAGE_BURST);
    expect(slowDown.length).toBeGreaterThan(0);
    expect(Math.min(...slowDown)).toBeGreaterThanOrEqual(SOCKET_MESSAGE_BURST);
    expect((await refusals('socket_messages')) - refusedBefore).toBe(slowDown.length);
    expect(flooder.connected).toBe(true);
    // Another connection's bucket is its own.
    const other = await connect();
    expect(await other.timeout(5_000).emitWithAck('ops:join', {})).toEqual({ ok: true });
  }, 60_000);
});
