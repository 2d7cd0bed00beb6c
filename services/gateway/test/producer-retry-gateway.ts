import { kaiDefinition } from './fixtures';
import { jsonClient } from './http-client';
import { startTestGateway, type TestGateway } from './start-test-gateway';

type JsonClient = ReturnType<typeof jsonClient>;

/**
 * The gateway the tests of retrying a queue producer's generation run on: AUTH_MODE=off (every API
 * caller is the one local caller, whose share is the keyless generations made over the API), the
 * given limits, and the character `kai`. No orchestrator runs: every generation accepted stays queued.
 */
export async function startProducerRetryGateway(label: string, limits: NonNullable<Parameters<typeof startTestGateway>[1]>['limits']): Promise<{ gw: TestGateway; api: JsonClient }> {
  const gw = await startTestGateway(label, { authMode: 'off', limits });
  const api = jsonClient(gw.baseUrl);
  try {
    expect((await api.post('/api/v1/characters', { name: 'Kai Nakamura', slug: 'kai', definition: kaiDefinition })).status).toBe(201);
  } catch (error) {
    await gw.close();
    throw error;
  }
  return { gw, api };
}

/** A failed generation of the producer `render-farm` (written over the API, then made the producer's): its id. */
export async function failedProducerGeneration(gw: TestGateway, api: JsonClient): Promise<string> {
  const made = await api.post('/api/v1/generations', { character: 'kai', prompt: 'farm' });
  expect(made.status).toBe(202);
  await gw.db.generationJob.update({ where: { id: made.body.id }, data: { source: 'render-farm', requestId: 'shot-1', status: 'failed', errorCode: 'timeout', errorMessage: 'test' } });
  return made.body.id;
}
