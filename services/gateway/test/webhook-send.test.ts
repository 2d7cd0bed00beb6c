import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendWebhook } from '../src/webhooks/send-webhook';
import { addressRefusal, NO_ALLOW } from '../src/webhooks/target-policy';
import type { Resolve } from '../src/webhooks/pinned-lookup';

describe('sending a webhook: the resolved address is checked and connected to, answers are bounded', () => {
  let server: http.Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits += 1;
      req.resume();
      if (req.url === '/silent') return; // never answers
      if (req.url === '/slow-body') {
        // Answers 200 at once, then takes its time over the rest of the body.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('taken');
        setTimeout(() => res.end(), 5_000).unref();
        return;
      }
      if (req.url === '/huge') {
        res.writeHead(500);
        return res.end('x'.repeat(2 * 1024 * 1024));
      }
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // A name that DNS answers with a loopback address: what a rebinding attacker would set up.
  const toLoopback: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];

  it('when a public-looking name resolves to 127.0.0.1 and WEBHOOK_ALLOW does not list it, then nothing is sent and the attempt says why', async () => {
    const before = hits;
    const outcome = await sendWebhook(`http://hooks.example:${port}/in`, '{}', {}, { allow: NO_ALLOW, resolve: toLoopback });
    expect(outcome).toMatchObject({ ok: false, statusCode: null });
    expect(outcome.error).toBe('refused: hooks.example resolves to 127.0.0.1: 127.0.0.1 is a loopback address; only public addresses are called unless WEBHOOK_ALLOW lists it');
    expect(hits).toBe(before);
  });

  it('when WEBHOOK_ALLOW lists the address or the host name, then the same target is called', async () => {
    expect(await sendWebhook(`http://hooks.example:${port}/in`, '{}', {}, { allow: { hosts: [], cidrs: [['127.0.0.0', 8]] }, resolve: toLoopback })).toMatchObject({ ok: true, statusCode: 204, error: null });
    expect(await sendWebhook(`http://hooks.example:${port}/in`, '{}', {}, { allow: { hosts: ['hooks.example'], cidrs: [] }, resolve: toLoopback })).toMatchObject({ ok: true, statusCode: 204 });
  });

  it('when the URL is an IP literal (no DNS lookup happens), then it is checked all the same, IPv4-mapped IPv6 included', async () => {
    const before = hits;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]']) {
      const outcome = await sendWebhook(`http://${host}:${port}/in`, '{}', {}, { allow: NO_ALLOW });
      expect(outcome.error).toMatch(/^refused: .*loopback address/);
    }
    expect(hits).toBe(before);
  });

  it('when the receiver never answers, then the attempt ends at the timeout; when it answers a huge body, only the first bytes are kept', async () => {
    const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
    const silent = await sendWebhook(`http://127.0.0.1:${port}/silent`, '{}', {}, { allow, timeoutMs: 300 });
    expect(silent).toMatchObject({ ok: false, statusCode: null, error: 'timed out' });
    expect(silent.durationMs).toBeLessThan(2_000);
    const huge = await sendWebhook(`http://127.0.0.1:${port}/huge`, '{}', {}, { allow, maxResponseBytes: 1024 });
    expect(huge).toMatchObject({ ok: false, statusCode: 500, error: 'receiver answered 500' });
    expect(huge.excerpt!.length).toBeLessThanOrEqual(500);
  });

  it('when the sender stops (its signal) after the receiver answered 2xx, while the rest of the answer is still coming, then the try counts as delivered, not as cut short', async () => {
    const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
    const stopping = new AbortController();
    // The answer's status line and headers are in: the sender stops a moment later (the worker closing).
    const onAnswer = () => setImmediate(() => stopping.abort(new Error('the worker is closing')));
    subscribe('http.client.response.finish', onAnswer);
    try {
      const outcome = await sendWebhook(`http://127.0.0.1:${port}/slow-body`, '{}', {}, { allow, signal: stopping.signal });
      expect(outcome).toMatchObject({ ok: true, statusCode: 200, error: null });
      expect(outcome.stopped).toBeUndefined();
      expect(stopping.signal.aborted).toBe(true);
    } finally {
      unsubscribe('http.client.response.finish', onAnswer);
    }
  });

  it('when the receiver answers 2xx at once and the rest of its answer outlasts the timeout, then the try counts as delivered with what was read, not as timed out', async () => {
    const allow = { hosts: [], cidrs: [['127.0.0.1', 32]] as [string, number][] };
    const outcome = await sendWebhook(`http://127.0.0.1:${port}/slow-body`, '{}', {}, { allow, timeoutMs: 300 });
    expect(outcome).toMatchObject({ ok: true, statusCode: 200, error: null, excerpt: 'taken' });
    expect(outcome.durationMs).toBeLessThan(2_000);
  });

  it('when addresses are judged, then only public unicast passes: private, loopback, link-local, metadata, CGNAT, 0/8, fc00::/7, fe80::/10 and ::1 are refused', () => {
    for (const address of ['10.0.0.1', '172.16.0.1', '192.168.1.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '0.1.2.3', 'fc00::1', 'fd12::1', 'fe80::1', '::1', '::', '224.0.0.1', '::ffff:10.0.0.1', '::7f00:1', '::127.0.0.1', '::a00:1']) {
      expect({ address, refused: addressRefusal(address, NO_ALLOW) !== null }).toEqual({ address, refused: true });
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111']) expect(addressRefusal(address, NO_ALLOW)).toBeNull();
    expect(addressRefusal('10.1.2.3', { hosts: [], cidrs: [['10.0.0.0', 8]] })).toBeNull();
    expect(addressRefusal('11.1.2.3', { hosts: [], cidrs: [['10.0.0.0', 8]] })).toBeNull();
    expect(addressRefusal('192.168.0.1', { hosts: [], cidrs: [['10.0.0.0', 8]] })).not.toBeNull();
  });
});
