import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mintKey } from '@anime/api-keys';
import { waitFor } from '@anime/testing';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

jest.setTimeout(180_000);

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A receiver written from the Standard Webhooks spec, not from the project's signer: the signed
 * content is `id.timestamp.body`, the key the base64 after `whsec_`, the signature `v1,<base64>`.
 */
function verifyStandardWebhook(secret: string, headers: http.IncomingHttpHeaders, body: string, toleranceS = 300): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const timestamp = String(headers['webhook-timestamp'] ?? '');
  const signatures = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceS) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64'));
  return signatures.some((s) => {
    const [version, value] = s.split(',');
    const given = Buffer.from(value ?? '');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe('signed webhooks on the real stack (WEBHOOK_ALLOW=127.0.0.1 so the local receiver may be called)', () => {
  let fx: StackFixture;
  let receiver: http.Server;
  let base: string;
  const received: Received[] = [];
  const failuresLeft = new Map<string, number>();

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '/';
        received.push({ path, headers: req.headers, body });
        if (path === '/redirect') return res.writeHead(302, { location: '/redirect-target' }).end();
        // Never answers the first try of each message (the sender is killed meanwhile), takes the next.
        if (path === '/hang' && received.filter((r) => r.path === '/hang' && r.headers['webhook-id'] === req.headers['webhook-id']).length === 1) return;
        if (path === '/flaky') {
          // Fails the first two attempts of each message (by webhook-id), then takes it.
          const id = String(req.headers['webhook-id']);
          const left = failuresLeft.get(id) ?? 2;
          failuresLeft.set(id, left - 1);
          if (left > 0) return res.writeHead(500).end('not yet');
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    fx = await startStackFixture('webhooks', { extraEnv: { WEBHOOK_ALLOW: '127.0.0.1', WEBHOOK_RETRY_DELAYS: '1s,2s,4s' } });
  });

  afterAll(async () => {
    await fx?.close();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const as = (key: string) => ({ headers: { Authorization: `Bearer ${key}` } });

  it('when a target is private, link-local or not http(s), then registration is refused with a clear 400', async () => {
    for (const url of ['http://10.1.2.3/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:8080/', 'http://100.64.0.1/', 'http://0.0.0.0/']) {
      const answer = await fx.api.post('/api/v1/webhooks', { url, events: ['generation.completed'] });
      expect({ url, status: answer.status, code: answer.data.error?.code }).toEqual({ url, status: 400, code: 'webhook_target_refused' });
      expect(answer.data.error.message).toMatch(/not allowed: .* address; only public addresses are called unless WEBHOOK_ALLOW lists it/);
    }
    const ftp = await fx.api.post('/api/v1/webhooks', { url: 'ftp://example.com/x', events: ['generation.completed'] });
    expect(ftp.status).toBe(400);
    const noEvents = await fx.api.post('/api/v1/webhooks', { url: `${base}/ok`, events: [] });
    expect(noEvents.status).toBe(400);
  });

  it('when generations end, then each endpoint gets a verifiable signed message, a failing one is retried (3 attempts recorded), a redirect is not followed, and a project-limited key hears only of its projects', async () => {
    const { key: alphaKey } = await mintKey(fx.db, { name: 'alpha', scopes: ['read', 'generate'], projects: ['alpha'] });
    const alpha = await fx.api.post('/api/v1/webhooks', { url: `${base}/alpha`, events: ['generation.completed', 'generation.failed'] }, as(alphaKey));
    expect(alpha.status).toBe(201);
    expect(alpha.data).toMatchObject({ url: `${base}/alpha`, projects: ['alpha'], events: ['generation.completed', 'generation.failed'] });
    expect(alpha.data.secret).toMatch(/^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
    const flaky = await fx.api.post('/api/v1/webhooks', { url: `${base}/flaky`, events: ['generation.completed'] });
    const redirect = await fx.api.post('/api/v1/webhooks', { url: `${base}/redirect`, events: ['generation.completed'] });
    expect([flaky.status, redirect.status]).toEqual([201, 201]);

    // Secrets are shown once: neither the list nor the detail carries them. A key sees its own
    // endpoints (an unlimited admin key sees all); another key's answer as absent.
    const listed = await fx.api.get('/api/v1/webhooks', as(alphaKey));
    expect(listed.data.items.map((w: { id: string }) => w.id)).toEqual([alpha.data.id]);
    expect(JSON.stringify(listed.data)).not.toContain('whsec_');
    const seenByAdmin = await fx.api.get(`/api/v1/webhooks/${alpha.data.id}`);
    expect(seenByAdmin.status).toBe(200);
    expect(seenByAdmin.data.secret).toBeUndefined();
    expect((await fx.api.get(`/api/v1/webhooks/${flaky.data.id}`, as(alphaKey))).status).toBe(404);
    expect((await fx.api.delete(`/api/v1/webhooks/${flaky.data.id}`, as(alphaKey))).status).toBe(404);

    const inAlpha = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'alpha', project: 'alpha', width: 64, height: 64, steps: 2 }, as(alphaKey));
    const inBeta = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'beta', project: 'beta', width: 64, height: 64, steps: 2 });
    expect([inAlpha.status, inBeta.status]).toEqual([202, 202]);
    expect((await waitForGenerationEnd(fx, inAlpha.data.id)).status).toBe('completed');
    expect((await waitForGenerationEnd(fx, inBeta.data.id)).status).toBe('completed');

    // The project-limited key's endpoint: one message, about its project's generation only.
    await waitFor(async () => received.some((r) => r.path === '/alpha') || null, 'alpha delivery', 30_000, 50);
    const flakyDone = await waitFor(async () => {
      const deliveries = (await fx.api.get(`/api/v1/webhooks/${flaky.data.id}/deliveries`)).data.items as { generationId: string; succeeded: boolean }[];
      return deliveries.filter((d) => d.succeeded).length === 2 ? deliveries : null;
    }, 'flaky deliveries', 60_000, 200);
    const toAlpha = received.filter((r) => r.path === '/alpha');
    expect(toAlpha).toHaveLength(1);
    const message = JSON.parse(toAlpha[0].body);
    expect(message).toMatchObject({ type: 'generation.completed', data: { id: inAlpha.data.id, status: 'completed' } });
    expect(new Date(message.timestamp).getTime()).toBeGreaterThan(Date.now() - 120_000);
    expect(verifyStandardWebhook(alpha.data.secret, toAlpha[0].headers, toAlpha[0].body)).toBe(true);
    // A receiver with another secret, or a body changed on the way, does not verify.
    expect(verifyStandardWebhook(flaky.data.secret, toAlpha[0].headers, toAlpha[0].body)).toBe(false);
    expect(verifyStandardWebhook(alpha.data.secret, toAlpha[0].headers, toAlpha[0].body.replace('completed', 'failed'))).toBe(false);
    expect(received.filter((r) => r.body.includes(inBeta.data.id) && r.path === '/alpha')).toHaveLength(0);

    // The failing receiver: per generation, three attempts with one webhook-id, the third succeeded.
    for (const generationId of [inAlpha.data.id, inBeta.data.id]) {
      const attempts = (flakyDone as { generationId: string; attempt: number; statusCode: number; succeeded: boolean; error: string | null; messageId: string }[])
        .filter((d) => d.generationId === generationId)
        .sort((a, b) => a.attempt - b.attempt);
      expect(attempts.map((a) => [a.attempt, a.statusCode, a.succeeded])).toEqual([[1, 500, false], [2, 500, false], [3, 204, true]]);
      expect(new Set(attempts.map((a) => a.messageId)).size).toBe(1);
      expect(attempts[0].error).toBe('receiver answered 500');
      const bodies = received.filter((r) => r.path === '/flaky' && r.body.includes(generationId));
      expect(bodies).toHaveLength(3);
      for (const b of bodies) expect(verifyStandardWebhook(flaky.data.secret, b.headers, b.body)).toBe(true);
    }

    // The redirect: a failed attempt, the Location never called.
    const redirected = await waitFor(async () => {
      const items = (await fx.api.get(`/api/v1/webhooks/${redirect.data.id}/deliveries`)).data.items as { statusCode: number; error: string; succeeded: boolean }[];
      return items.length ? items : null;
    }, 'redirect attempt', 30_000, 100);
    expect(redirected[0]).toMatchObject({ statusCode: 302, succeeded: false, error: 'redirect (302) not followed' });
    expect(received.filter((r) => r.path === '/redirect-target')).toHaveLength(0);

    // Operators see the delivery results on the gateway's /metrics.
    const metrics = String((await fx.api.get('/metrics')).data);
    const counted = (outcome: string) => Number(new RegExp(`^anime_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(counted('failed')).toBeGreaterThanOrEqual(5); // 2 × 2 flaky attempts and the redirect
    expect(counted('delivered')).toBeGreaterThanOrEqual(2);

    // Deleted: nothing more is sent to it, and its log is gone from the key's view.
    expect((await fx.api.delete(`/api/v1/webhooks/${redirect.data.id}`)).status).toBe(204);
    expect((await fx.api.get(`/api/v1/webhooks/${redirect.data.id}`)).status).toBe(404);
  });

  it("when a request names a registered endpoint's URL, then that generation's terminal event goes there, signed with its secret, even one it did not subscribe to", async () => {
    const { key } = await mintKey(fx.db, { name: 'per-request', scopes: ['read', 'generate'] });
    const own = await fx.api.post('/api/v1/webhooks', { url: `${base}/own`, events: ['generation.canceled'] }, as(key));
    expect(own.status).toBe(201);
    // Another key's endpoint at a URL is not this key's to use.
    expect((await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'x', webhook: { url: `${base}/flaky` } }, as(key))).data.error?.code).toBe('webhook_not_registered');
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'own', width: 64, height: 64, steps: 2, webhook: { url: `${base}/own` } }, as(key));
    expect(created.status).toBe(202);
    expect((await waitForGenerationEnd(fx, created.data.id)).status).toBe('completed');
    const hit = await waitFor(async () => received.find((r) => r.path === '/own') ?? null, 'per-request delivery', 30_000, 50);
    expect(JSON.parse(hit.body)).toMatchObject({ type: 'generation.completed', data: { id: created.data.id } });
    expect(verifyStandardWebhook(own.data.secret, hit.headers, hit.body)).toBe(true);
    // The attempt is recorded once the receiver's answer is in, a moment after the receiver saw the request.
    const deliveries = await waitFor(async () => {
      const items = (await fx.api.get(`/api/v1/webhooks/${own.data.id}/deliveries`, as(key))).data.items as unknown[];
      return items.length ? items : null;
    }, 'the per-request delivery to be recorded', 10_000, 50);
    expect(deliveries).toEqual([expect.objectContaining({ eventType: 'generation.completed', generationId: created.data.id, attempt: 1, statusCode: 204, succeeded: true, error: null })]);
  });

  it('when the gateway is killed while a receiver holds a try, then the restarted gateway makes the try again within seconds (its lock lapses in ~15 s), with the same webhook-id', async () => {
    const hang = await fx.api.post('/api/v1/webhooks', { url: `${base}/hang`, events: ['generation.canceled'] });
    expect(hang.status).toBe(201);
    const created = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'killed mid-delivery', width: 64, height: 64, steps: 50 });
    expect((await fx.api.post(`/api/v1/generations/${created.data.id}/cancel`)).status).toBe(202);
    const first = await waitFor(async () => received.find((r) => r.path === '/hang') ?? null, 'the first try to reach the receiver', 30_000, 20);
    const gateway = fx.stack.services.gateway!;
    await gateway.stop('SIGKILL');
    const killedAt = Date.now();
    await gateway.start();
    // BullMQ's default lock (30 s, stalls checked every 30 s) made it again only after about a minute.
    const again = await waitFor(async () => received.filter((r) => r.path === '/hang')[1] ?? null, 'the try made again after the kill', 30_000, 50);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(again.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(verifyStandardWebhook(hang.data.secret, again.headers, again.body)).toBe(true);
    const deliveries = await waitFor(async () => {
      const items = (await fx.api.get(`/api/v1/webhooks/${hang.data.id}/deliveries`)).data.items as { succeeded: boolean }[];
      return items.some((d) => d.succeeded) ? items : null;
    }, 'the delivery to be recorded', 10_000, 50);
    expect(deliveries).toEqual([expect.objectContaining({ generationId: created.data.id, succeeded: true, statusCode: 204 })]);
  });
});
