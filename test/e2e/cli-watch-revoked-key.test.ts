import { revokeKey } from '@anime/api-keys';
import { waitFor } from '@anime/testing';
import { kaiDefinition } from '../../services/gateway/test/fixtures';
import { startTestGateway, type TestGateway } from '../../services/gateway/test/start-test-gateway';
import { ApiClient } from '../../packages/cli/src/api-client';
import { CliError } from '../../packages/cli/src/cli-error';
import { watchJob, type WatchedEvent } from '../../packages/cli/src/watch-job';

// `anime generate --watch` follows a job over Socket.IO. When its key is revoked (or expires) the
// gateway closes the connection ("io server disconnect"), which socket.io-client never reconnects:
// the watch must fail with one line saying why, not wait forever (or, once nothing else keeps the
// process alive, exit 0 as if the job had ended well).
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('cli-watch-revoked', { socketKeyRecheckMs: 200 });
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(async () => {
  await gateway?.close();
});

it('when the key of a running --watch is revoked, then the watch fails with the gateway saying the key was revoked', async () => {
  const key = await gateway.mintKey({ name: 'watcher', scopes: ['read', 'generate'] });
  // Nothing runs the job here (no orchestrator): it stays queued while it is watched.
  const created = await gateway.client(key).post('/api/v1/generations', { character: 'kai', prompt: 'on a rooftop' });
  expect(created.status).toBe(202);
  const api = new ApiClient({ baseUrl: gateway.baseUrl, key, keySource: 'the test' });
  const events: WatchedEvent[] = [];
  const watching = watchJob(api, created.body.id, (event) => events.push(event));
  const outcome = watching.then(
    () => 'ended',
    (error: unknown) => error,
  );
  // Connected and subscribed once the job's history is replayed (under load, well past half a second).
  await waitFor(() => events.length > 0, 'the watch to replay the queued job', 10_000);
  expect(events.map((e) => e.name)).toEqual(['job:queued']);
  await revokeKey(gateway.db, 'watcher');
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([outcome, new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting after 10 s'), 10_000)))]);
  clearTimeout(timer);
  expect(settled).toBeInstanceOf(CliError);
  expect((settled as CliError).message).toMatch(/401 unauthenticated: the API key has been revoked/);
});
