import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createRedis } from '@anime/pipeline';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { kaiDefinition } from './fixtures';
import { startTestWebhookDelivery } from './start-test-webhook-delivery';
import { startTestGateway, type TestGateway } from './start-test-gateway';

jest.setTimeout(90_000);

/** One request as it reached the receiver: the exact bytes, never re-serialized. */
interface Received {
  path: string;
  headers: Record<string, string>;
  raw: Buffer;
  /** When it arrived (ms): the reference library's timestamp tolerance is checked against it. */
  at: number;
}

/**
 * Deliveries from the real gateway (its routes, the generation-events dispatcher and the
 * webhook-deliveries worker), each checked with the Standard Webhooks reference implementation
 * (`standardwebhooks` on npm), not with a verifier of the project's own.
 */
describe('webhooks follow Standard Webhooks, as its reference library verifies them', () => {
  let gateway: TestGateway;
  let receiver: http.Server;
  let base: string;
  let delivery: { stop(): Promise<void> };
  const connection = createRedis(TEST_REDIS_URL, 'worker');
  const received: Received[] = [];
  const failuresLeft = new Map<string, number>();

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, headers: req.headers as Record<string, string>, raw: Buffer.concat(chunks), at: Date.now() });
        if (path === '/gone') return res.writeHead(410).end('unsubscribed');
        if (path === '/redirect') return res.writeHead(307, { location: '/redirected' }).end();
        if (path === '/flaky') {
          // The first two attempts of each message (by webhook-id) fail, the third is taken.
          const id = String(req.headers['webhook-id']);
          const left = failuresLeft.get(id) ?? 2;
          failuresLeft.set(id, left - 1);
          if (left > 0) return res.writeHead(503).end('busy');
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
    gateway = await startTestGateway('webhook-standard', { webhookAllow: allow });
    expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
    delivery = await startTestWebhookDelivery(gateway, connection, {
      allow,
      // Waits of 1 s, then 2 s (no jitter): the schedule's timing below is exact.
      retrySchedule: { delaysMs: [1_000, 2_000, 4_000], jitter: 0, maxRetryAfterMs: 4_000 },
    });
  });
  afterAll(async () => {
    await delivery?.stop();
    connection.disconnect();
    await gateway?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  /** Registers an endpoint through the API: the secret is the one shown at registration. */
  const register = async (path: string) => {
    const answer = await gateway.client().post('/api/v1/webhooks', { url: `${base}${path}`, events: ['generation.canceled'] });
    expect(answer.status).toBe(201);
    return answer.body as { id: string; secret: string };
  };
  /** A generation ended by cancel: its job:canceled goes through the stream to the endpoints. */
  const canceledGeneration = async (prompt: string) => {
    const api = gateway.client();
    const created = await api.post('/api/v1/generations', { character: 'kai', prompt });
    expect(created.status).toBe(202);
    expect((await api.post(`/api/v1/generations/${created.body.id}/cancel`)).status).toBe(202);
    return created.body.id as string;
  };
  const to = (path: string, generationId: string) => received.filter((r) => r.path === path && r.raw.includes(generationId));
  /** The reference library's verify, with the clock at the moment the request arrived. */
  const verifyAsReceived = (secret: string, r: Received, headers = r.headers, raw: Buffer | string = r.raw) => {
    const now = jest.spyOn(Date, 'now').mockReturnValue(r.at);
    try {
      return new Webhook(secret).verify(raw, headers) as { type: string; timestamp: string; data: { id: string } };
    } finally {
      now.mockRestore();
    }
  };
  const canceledEventTime = async (generationId: string) =>
    (await gateway.db.jobEvent.findFirstOrThrow({ where: { jobId: generationId, type: 'job:canceled' }, orderBy: { seq: 'desc' } })).createdAt.toISOString();

  it('when a generation with non-ASCII text ends, then the message verifies over the exact bytes sent, has the { type, timestamp, data } shape with the event time, and a wrong secret, a changed byte, id or timestamp do not verify', async () => {
    const endpoint = await register('/plain');
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    // 24 to 64 random bytes, as the spec asks of a symmetric secret.
    expect(Buffer.from(endpoint.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    const prompt = 'Kai on a Tōkyō rooftop — 東京の屋上, dusk 🌆, café "naïve" \u2028 end';
    const generationId = await canceledGeneration(prompt);
    const [message] = await waitFor(async () => (to('/plain', generationId).length ? to('/plain', generationId) : null), 'the delivery', 30_000);

    // The body carries the text as UTF-8 (not \u-escaped), its length is the bytes sent.
    expect(message.raw.includes(Buffer.from('東京の屋上'))).toBe(true);
    expect(Number(message.headers['content-length'])).toBe(message.raw.length);
    expect(message.headers['content-type']).toMatch(/^application\/json/);

    const payload = verifyAsReceived(endpoint.secret, message);
    expect(payload).toEqual(JSON.parse(message.raw.toString('utf8')));
    // The spec's headers: an id without `.`, integer unix seconds, space-delimited `v1,<base64>` signatures.
    expect(message.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    expect(message.headers['webhook-timestamp']).toMatch(/^\d+$/);
    expect(Math.abs(Number(message.headers['webhook-timestamp']) * 1000 - message.at)).toBeLessThan(60_000);
    for (const signature of message.headers['webhook-signature'].split(' ')) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);

    // The payload: type, the time the event occurred (not of the attempt), the generation as the API shows it.
    expect(Object.keys(payload).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(payload.type).toBe('generation.canceled');
    expect(payload.timestamp).toBe(await canceledEventTime(generationId));
    const shown = await gateway.client().get(`/api/v1/generations/${generationId}`);
    expect(payload.data).toEqual(shown.body);
    expect((payload.data as unknown as { request: { prompt: string } }).request.prompt).toBe(prompt);

    const refused = (run: () => unknown) => expect(run).toThrow(WebhookVerificationError);
    refused(() => verifyAsReceived(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, message));
    const changed = Buffer.from(message.raw);
    changed[changed.indexOf(Buffer.from('東'))] ^= 1;
    refused(() => verifyAsReceived(endpoint.secret, message, message.headers, changed));
    // The body re-serialized by a receiver (non-ASCII escaped) is not the body signed.
    refused(() => verifyAsReceived(endpoint.secret, message, message.headers, JSON.stringify(JSON.parse(message.raw.toString('utf8'))).replace(/東/g, '\\u6771')));
    refused(() => verifyAsReceived(endpoint.secret, message, { ...message.headers, 'webhook-id': `${message.headers['webhook-id']}x` }));
    refused(() => verifyAsReceived(endpoint.secret, message, { ...message.headers, 'webhook-timestamp': String(Number(message.headers['webhook-timestamp']) + 1) }));
    // Replays are refused by the receiver's tolerance: the same request ten minutes later.
    refused(() => verifyAsReceived(endpoint.secret, { ...message, at: message.at + 10 * 60_000 }));
    expect((await gateway.client().delete(`/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
  });

  it('when the receiver fails twice, then each retry carries the same webhook-id, a fresh webhook-timestamp and a signature that verifies, while the payload keeps the time of the event', async () => {
    const endpoint = await register('/flaky');
    const generationId = await canceledGeneration('retried');
    const attempts = await waitFor(async () => (to('/flaky', generationId).length >= 3 ? to('/flaky', generationId) : null), 'three attempts', 60_000, 100);
    expect(attempts).toHaveLength(3);
    const payloads = attempts.map((attempt) => verifyAsReceived(endpoint.secret, attempt));
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    // Backoff of 1 s then 2 s: the third attempt is signed at least 3 s after the first.
    const timestamps = attempts.map((a) => Number(a.headers['webhook-timestamp']));
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(timestamps[2]).toBeGreaterThan(timestamps[0]);
    const eventTime = await canceledEventTime(generationId);
    expect(payloads.map((p) => p.timestamp)).toEqual([eventTime, eventTime, eventTime]);

    // The third attempt is recorded once the receiver's answer is in, a moment after the receiver saw it.
    const log = await waitFor(async () => {
      const items = (await gateway.client().get(`/api/v1/webhooks/${endpoint.id}/deliveries`)).body.items as { messageId: string; attempt: number; statusCode: number; succeeded: boolean }[];
      return items.length >= 3 ? items : null;
    }, 'the three attempts to be recorded', 10_000, 50);
    expect(log.map((d) => [d.attempt, d.statusCode, d.succeeded, d.messageId]).sort()).toEqual([
      [1, 503, false, attempts[0].headers['webhook-id']],
      [2, 503, false, attempts[0].headers['webhook-id']],
      [3, 204, true, attempts[0].headers['webhook-id']],
    ]);
    expect((await gateway.client().delete(`/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
  });

  it('when a receiver answers 410 Gone, then the endpoint is disabled: that message is not retried and later events are not sent to it', async () => {
    const gone = await register('/gone');
    const witness = await register('/plain');
    const first = await canceledGeneration('gone first');
    await waitFor(async () => to('/plain', first).length > 0, 'the witness to get the first event', 30_000);
    await waitFor(async () => to('/gone', first).length > 0, 'the 410 attempt', 30_000);
    const shown = await waitFor(async () => {
      const answer = await gateway.client().get(`/api/v1/webhooks/${gone.id}`);
      return answer.body?.disabledAt ? answer : null;
    }, 'the endpoint to be disabled', 10_000, 100);
    expect(shown.status).toBe(200);
    expect(Date.parse(shown.body.disabledAt)).not.toBeNaN();
    expect((await gateway.client().get(`/api/v1/webhooks/${witness.id}`)).body.disabledAt).toBeNull();
    const listed = (await gateway.client().get('/api/v1/webhooks')).body.items as { id: string; disabledAt: string | null }[];
    expect(listed.find((w) => w.id === gone.id)?.disabledAt).toBe(shown.body.disabledAt);
    // A request can no longer name it for its own webhook.
    const named = await gateway.client().post('/api/v1/generations', { character: 'kai', prompt: 'x', webhook: { url: `${base}/gone` } });
    expect({ status: named.status, code: named.body.error?.code }).toEqual({ status: 400, code: 'webhook_not_registered' });

    // A later event reaches the witness, not the disabled endpoint; past the first backoffs (1 s, 2 s), no retry came either.
    const second = await canceledGeneration('gone second');
    await waitFor(async () => to('/plain', second).length > 0, 'the witness to get the second event', 30_000);
    // A message for it already queued when it was disabled (here: added by hand) is dropped, not sent.
    const seq = (await gateway.db.jobEvent.findFirstOrThrow({ where: { jobId: second, type: 'job:canceled' } })).seq;
    await gateway.queues.enqueue('webhookDeliveries', { schemaVersion: 1, endpointId: gone.id, generationId: second, eventType: 'generation.canceled', seq });
    const queued = await waitFor(async () => {
      const job = await gateway.queues.byKey.webhookDeliveries.getJob(`webhook-${gone.id}-${second}-${seq}`);
      return job?.finishedOn ? job : null;
    }, 'the queued message to be handled', 20_000, 100);
    expect(queued.returnvalue).toEqual({ outcome: expect.stringMatching(/disabled/) });
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(received.filter((r) => r.path === '/gone').map((r) => r.raw.includes(first))).toEqual([true]);
    const log = (await gateway.client().get(`/api/v1/webhooks/${gone.id}/deliveries`)).body.items;
    expect(log).toEqual([expect.objectContaining({ generationId: first, attempt: 1, statusCode: 410, succeeded: false })]);
    expect(log[0].error).toMatch(/410/);
    for (const id of [gone.id, witness.id]) expect((await gateway.client().delete(`/api/v1/webhooks/${id}`)).status).toBe(204);
  });

  it('when a receiver redirects, then the redirect is not followed and the attempt failed', async () => {
    const endpoint = await register('/redirect');
    const generationId = await canceledGeneration('redirected');
    const log = await waitFor(async () => {
      const items = (await gateway.client().get(`/api/v1/webhooks/${endpoint.id}/deliveries`)).body.items;
      return items.length ? items : null;
    }, 'the redirect attempt', 30_000, 100);
    expect(log[0]).toMatchObject({ generationId, attempt: 1, statusCode: 307, succeeded: false, error: 'redirect (307) not followed' });
    expect(received.filter((r) => r.path === '/redirected')).toHaveLength(0);
    expect((await gateway.client().delete(`/api/v1/webhooks/${endpoint.id}`)).status).toBe(204);
  });
});
