import axios from 'axios';
import { randomUUID } from 'node:crypto';
import { mintKey } from '@anime/api-keys';
import { createPipelineQueues, createRedis } from '@anime/pipeline';
import type { AppService } from '@anime/stack';
import { TEST_REDIS_URL, waitFor } from '@anime/testing';
import { promtoolCheck } from './promtool';
import { startStackFixture, waitForGenerationEnd, type StackFixture } from './stack-fixture';

/** The JSON log lines a service process printed. */
function jsonLines(output: string[]): Record<string, unknown>[] {
  return output.flatMap((line) => {
    const at = line.indexOf('{');
    if (at < 0) return [];
    try {
      return [JSON.parse(line.slice(at)) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/**
 * Operators' view of a real stack (four separate processes): every service's /metrics passes
 * `promtool check metrics` after a job and carries the anime_* metrics it owns; the gateway writes
 * one access-log line per request; a job's correlation id is in the logs of every service.
 */
describe('metrics and logs of a real stack', () => {
  let fx: StackFixture;
  const correlationId = `ops-${randomUUID()}`;
  let jobId: string;
  // A producer's job (straight onto generation-requests) goes through the character service too.
  const producerCorrelationId = `ops-producer-${randomUUID()}`;

  beforeAll(async () => {
    fx = await startStackFixture('ops-metrics');
    const res = await fx.api.post('/api/v1/generations', { character: 'kai-nakamura', prompt: 'metrics', steps: 3, seed: 5 }, { headers: { 'x-request-id': correlationId } });
    expect(res.status).toBe(202);
    jobId = res.data.id;
    expect(await waitForGenerationEnd(fx, jobId)).toMatchObject({ status: 'completed' });
    const redis = createRedis(TEST_REDIS_URL, 'worker');
    const queues = createPipelineQueues(redis, fx.queuePrefix);
    try {
      await queues.enqueue('generationRequests', { schemaVersion: 1, source: 'ops-test', requestId: 'r1', correlationId: producerCorrelationId, character: 'kai-nakamura', prompt: 'from a producer', steps: 3, seed: 6 });
    } finally {
      await queues.close();
      redis.disconnect();
    }
    const createdId = await waitFor(async () => {
      const res = await fx.api.get('/api/v1/generations', { params: { source: 'ops-test', requestId: 'r1' } });
      return (res.data.items?.[0]?.id as string | undefined) ?? null;
    }, 'the producer job to become a generation', 30_000, 100);
    // Past the deadline, this names where the generation stood and what each service logged last.
    expect(await waitForGenerationEnd(fx, createdId, 60_000)).toMatchObject({ status: 'completed' });
  }, 120_000);

  afterAll(async () => {
    await fx?.close();
  });

  const metricsUrl = (service: AppService) => (service === 'gateway' ? `${fx.stack.gatewayUrl}/metrics` : fx.stack.readyUrls[service].replace(/\/readyz$/, '/metrics'));

  it('when each of the four services is scraped after a job, then promtool accepts every output and each carries its anime_* metrics', async () => {
    const texts: Partial<Record<AppService, string>> = {};
    for (const service of ['gateway', 'character', 'orchestrator', 'file-organizer'] as const) {
      const res = await axios.get(metricsUrl(service), { headers: { authorization: `Bearer ${fx.apiKey}` }, responseType: 'text', validateStatus: () => true });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      const check = await promtoolCheck(res.data);
      if (!check.ok) throw new Error(`promtool check metrics failed on ${service}:\n${check.output}`);
      texts[service] = res.data;
      console.log(`promtool check metrics: ${service} ok (${res.data.split('\n').length} lines)`);
    }
    // Queue depth under exactly the name and labels KEDA queries (infra/k8s), on every service.
    for (const text of Object.values(texts)) {
      for (const state of ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed']) {
        expect(text).toMatch(new RegExp(`^anime_queue_jobs\\{queue="generation-renders",state="${state}"\\} \\d+$`, 'm'));
      }
    }
    expect(texts.gateway).toMatch(/^anime_queue_jobs\{queue="generation-renders",state="completed"\} [1-9]/m);
    // Job durations by stage and outcome, each on the service that ran the stage.
    expect(texts.character).toMatch(/^anime_job_duration_seconds_count\{queue="generation-requests",stage="resolveCharacter",outcome="completed"\} [1-9]/m);
    expect(texts.orchestrator).toMatch(/^anime_job_duration_seconds_count\{queue="generation-renders",stage="renderPrompt",outcome="completed"\} [1-9]/m);
    expect(texts['file-organizer']).toMatch(/^anime_job_duration_seconds_count\{queue="asset-filing",stage="fileOutputs",outcome="completed"\} [1-9]/m);
    // Backend state and busy ratio from the orchestrator.
    const backend = new URL(fx.stack.comfyUrls[0]).origin;
    expect(texts.orchestrator).toContain(`anime_backend_state{backend="${backend}",state="up"} 1`);
    expect(texts.orchestrator).toMatch(new RegExp(`^anime_backend_busy_ratio\\{backend="${backend.replace(/[.]/g, '\\.')}"\\} [0-9.]+$`, 'm'));
    // Up and answering: not stuck (the alert rules tell a stuck backend from one that does not answer by it).
    expect(texts.orchestrator).toContain(`anime_backend_stuck{backend="${backend}"} 0`);
    // HTTP durations by route pattern (never the raw URL) and status; relay latency of job events.
    expect(texts.gateway).toMatch(/^anime_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/generations",status="202"\} [1-9]/m);
    expect(texts.gateway).toMatch(/^anime_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/generations\/:id",status="200"\} [1-9]/m);
    expect(texts.gateway).not.toContain(jobId);
    expect(texts.gateway).toMatch(/^anime_progress_relay_latency_seconds_count\{event="job:completed"\} [1-9]/m);
    // Declared for the rate limiter and webhook delivery to increment.
    expect(texts.gateway).toContain('# TYPE anime_rate_limit_refusals_total counter');
    expect(texts.gateway).toContain('# TYPE anime_webhook_deliveries_total counter');
    expect(texts.gateway).toContain('# TYPE anime_socket_slow_consumer_disconnects_total counter');
    for (const text of Object.values(texts)) expect(text).toContain('# TYPE anime_generation_failures_total counter');
    // What each process retains, for leak dashboards: a gauge on every service (0 until its first major collection).
    for (const text of Object.values(texts)) expect(text).toMatch(/^anime_heap_after_major_gc_bytes \d+$/m);
  });

  it("when the gateway's /metrics is asked without a key or with a read key, then it is 401 or 403: metrics need an admin key", async () => {
    const anonymous = await axios.get(`${fx.stack.gatewayUrl}/metrics`, { validateStatus: () => true });
    expect(anonymous.status).toBe(401);
    expect(anonymous.data).toMatchObject({ error: { code: 'unauthenticated' } });
    const { key } = await mintKey(fx.db, { name: 'ops-reader', scopes: ['read'] });
    const reader = await axios.get(`${fx.stack.gatewayUrl}/metrics`, { headers: { authorization: `Bearer ${key}` }, validateStatus: () => true });
    expect(reader.status).toBe(403);
    expect(reader.data).toMatchObject({ error: { code: 'insufficient_scope', details: { scope: 'admin' } } });
  });

  it('when a request is served, then the gateway logs one JSON access line with method, route pattern, status, duration, request id and key name, never the key', async () => {
    const lines = jsonLines(fx.stack.services.gateway!.output).filter((l) => l.type === 'access');
    const submit = lines.filter((l) => l.requestId === correlationId);
    expect(submit).toHaveLength(1);
    expect(submit[0]).toMatchObject({ message: 'request', method: 'POST', route: '/api/v1/generations', status: 202, keyName: 'e2e-admin', service: 'gateway' });
    expect(typeof submit[0].durationMs).toBe('number');
    expect(lines.some((l) => l.route === '/api/v1/generations/:id' && l.method === 'GET')).toBe(true);
    expect(fx.stack.services.gateway!.output.join('\n')).not.toContain(fx.apiKey);
  });

  const linesWith = (service: AppService, id: string) => jsonLines(fx.stack.services[service]!.output).filter((l) => l.correlationId === id || l.requestId === id).length;

  it("when a job runs, then its correlation id is in the logs of every service it went through (REST: gateway, orchestrator, file-organizer; a producer's: character, orchestrator, file-organizer)", async () => {
    const rest = Object.fromEntries((['gateway', 'orchestrator', 'file-organizer'] as const).map((s) => [s, linesWith(s, correlationId)]));
    const producer = Object.fromEntries((['character', 'orchestrator', 'file-organizer'] as const).map((s) => [s, linesWith(s, producerCorrelationId)]));
    console.log(`log lines carrying the correlation id: REST job ${JSON.stringify(rest)}; producer job ${JSON.stringify(producer)}`);
    for (const count of [...Object.values(rest), ...Object.values(producer)]) expect(count).toBeGreaterThan(0);
  });
});
