import { CommanderError } from 'commander';
import { kaiDefinition } from '../../../services/gateway/test/fixtures';
import { startTestGateway, type TestGateway } from '../../../services/gateway/test/start-test-gateway';
import { ApiClient } from './api-client';
import { generateCommand } from './commands/generate';

// `anime generate --idempotency-key` against the real gateway (in-process, real PostgreSQL and Redis):
// run again after a lost answer, the command gives back the generation it made.

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway('cli-idempotency-key');
  expect((await gateway.client().post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
});
afterAll(() => gateway?.close());

/** `anime --json generate <args>`: the JSON it printed, or the error it failed with. */
async function generate(...args: string[]): Promise<{ printed?: { id: string; status: string }; error?: Error }> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const api = new ApiClient({ baseUrl: gateway.baseUrl, key: gateway.apiKey, keySource: 'test' });
  try {
    await generateCommand({ api: () => api, json: () => true })
      .exitOverride()
      .configureOutput({ writeErr: () => undefined })
      .parseAsync(args, { from: 'user' });
    return { printed: JSON.parse(out.join('\n')) };
  } catch (error) {
    return { error: error as Error };
  } finally {
    log.mockRestore();
  }
}

describe('anime generate --idempotency-key', () => {
  it('when the command is run twice with the same key and options, then it prints the same generation, and one is made, its requestId the key (UTF-8 text kept as written)', async () => {
    const first = await generate('-c', 'kai', '-p', 'on a rooftop', '--idempotency-key', 'clé-7');
    expect(first.printed).toEqual({ id: expect.any(String), status: 'queued' });
    const again = await generate('-c', 'kai', '-p', 'on a rooftop', '--idempotency-key', 'clé-7');
    expect(again.printed).toEqual(first.printed);
    const rows = await gateway.db.generationJob.findMany({ where: { requestId: 'clé-7' } });
    expect(rows.map((r) => ({ id: r.id, source: r.source }))).toEqual([{ id: first.printed!.id, source: 'api' }]);
  });

  it('when the key comes with other options, then the gateway refuses it (422 idempotency_key_reused), and nothing is made', async () => {
    expect((await generate('-c', 'kai', '-p', 'first', '--idempotency-key', 'cli-other')).printed?.status).toBe('queued');
    const before = await gateway.db.generationJob.count();
    const refused = await generate('-c', 'kai', '-p', 'second', '--idempotency-key', 'cli-other');
    expect(refused.error?.message).toMatch(/^422 idempotency_key_reused: .*used for a different request/);
    expect(await gateway.db.generationJob.count()).toBe(before);
  });

  it('when the key is empty or longer than 200 characters, then it is a command-line mistake, and nothing is sent', async () => {
    const before = await gateway.db.generationJob.count();
    for (const key of ['', 'k'.repeat(201)]) {
      const { error } = await generate('-c', 'kai', '-p', 'x', '--idempotency-key', key);
      expect(error).toBeInstanceOf(CommanderError);
      expect((error as CommanderError).code).toBe('commander.invalidArgument');
      expect(error!.message).toMatch(key ? /at most 200 characters/ : /must not be empty/);
    }
    expect(await gateway.db.generationJob.count()).toBe(before);
  });
});
