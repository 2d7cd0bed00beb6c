import { io, type Socket } from 'socket.io-client';
import { waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestGateway, type TestGateway } from './start-test-gateway';

/** The most events a generation's story holds (MAX_GENERATION_EVENTS of @anime/pipeline's lifecycle statements). */
const MAX_GENERATION_EVENTS = 1_000;

let gateway: TestGateway;
const clients: Socket[] = [];

beforeAll(async () => {
  gateway = await startTestGateway('socket-long-story');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await gateway?.close();
});

describe('a Socket.IO client that reads, subscribing to a job whose story is as long as a story gets', () => {
  it(`when the job has ${MAX_GENERATION_EVENTS} events, then the subscribe replays them all and the client stays connected`, async () => {
    const jobId: string = (await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'a long story' })).body.id;
    const [{ seq: stored }] = await gateway.db.$queryRaw<{ seq: number }[]>`SELECT max(seq)::int AS seq FROM job_events WHERE "jobId" = ${jobId}::uuid`;
    await gateway.db.$executeRaw`
      INSERT INTO job_events (id, "jobId", seq, type, payload)
      SELECT gen_random_uuid(), ${jobId}::uuid, s, 'job:retrying', jsonb_build_object('jobId', ${jobId}::text, 'attempt', s, 'reason', 'backend_lost: filler')
      FROM generate_series(${stored + 1}::int, ${MAX_GENERATION_EVENTS}::int) AS s`;
    await gateway.db.$executeRaw`UPDATE generation_jobs SET "eventSeq" = ${MAX_GENERATION_EVENTS}::int WHERE id = ${jobId}::uuid`;

    const socket = io(gateway.baseUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: gateway.apiKey } });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    let heard = 0;
    let disconnected = false;
    socket.onAny(() => heard++);
    socket.on('disconnect', () => (disconnected = true));
    const ack = await socket.timeout(10_000).emitWithAck('subscribe', { jobId }).catch((error: Error) => ({ ok: false, error: error.message }));
    expect({ ack, disconnected }).toMatchObject({ ack: { ok: true }, disconnected: false });
    await waitFor(() => heard === MAX_GENERATION_EVENTS, 'every event of the story', 10_000);
    expect(disconnected).toBe(false);
    expect(socket.connected).toBe(true);
  }, 60_000);
});
