import type { Queue } from 'bullmq';
import { generationRequestBodySchema, PIPELINE_CATALOG, type GenerationRequestMessageInput } from '@anime/contracts';
import type { Db } from '@anime/db';
import { JobLifecycle, type RunningService } from '@anime/pipeline';
import { waitFor } from '@anime/testing';
import { registerWorkflow } from '@anime/workflows';
import { startRequestStage, type RequestStage } from './start-request-stage';

describe('request stage (character service in-process, PostgreSQL, Redis)', () => {
  let stage: RequestStage;
  let db: Db;
  let service: RunningService;
  let requests: Queue;
  const entry = PIPELINE_CATALOG.generationRequests;

  beforeAll(async () => {
    stage = await startRequestStage('request-stage', [['kai-nakamura', 'Kai Nakamura', 'kainakamura'], ['hiroshi', 'Hiroshi', 'hiroshiboy']]);
    ({ db, service, requests } = stage);
  });

  afterAll(() => stage?.stop());

  /** anime_generation_failures_total{code} as the character service's /metrics serves it (0 before its first). */
  const failuresCounted = async (code: string) => {
    const text = await (await fetch(`http://127.0.0.1:${service.ops.port()}/metrics`)).text();
    return Number(new RegExp(`^anime_generation_failures_total\\{code="${code}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  const message = (overrides: Partial<GenerationRequestMessageInput>) => ({ schemaVersion: 1, character: 'kai-nakamura', prompt: 'on a rooftop', ...overrides });
  const settled = (jobs: { id?: string }[]) =>
    waitFor(async () => {
      const states = await Promise.all(jobs.map(async (j) => (await requests.getJob(j.id!))!.getState()));
      return states.every((s) => s === 'completed' || s === 'failed') ? states : null;
    }, 'the queue jobs to settle');

  it('when a message names an existing generation with another character and prompt, then the stored request decides what is resolved', async () => {
    const body = generationRequestBodySchema.parse({ character: 'kai-nakamura', prompt: 'the original prompt' });
    const { job } = await new JobLifecycle(db).create({ body, source: 'api' });
    const added = await requests.add(entry.jobName, message({ generationId: job.id, character: 'hiroshi', prompt: 'a hijacked prompt' }));
    expect(await settled([added])).toEqual(['completed']);
    const row = await db.generationJob.findUniqueOrThrow({ where: { id: job.id }, include: { character: true } });
    expect(row).toMatchObject({ stage: 'resolved', status: 'queued' });
    expect(row.character?.slug).toBe('kai-nakamura');
    expect(row.request).toMatchObject({ character: 'kai-nakamura', prompt: 'the original prompt' });
    const positive = (row.conditioning as { positive: string }).positive;
    expect(positive).toContain('the original prompt');
    expect(positive).not.toMatch(/hijacked|hiroshiboy/);
  });

  it('when one source adds the same requestId twice at the same moment, then one generation exists and both queue jobs complete normally; another source gets its own', async () => {
    const jobs = await Promise.all([
      requests.add(entry.jobName, message({ source: 'render-farm', requestId: 'shot-42' })),
      requests.add(entry.jobName, message({ source: 'render-farm', requestId: 'shot-42' })),
      requests.add(entry.jobName, message({ source: 'storyboard', requestId: 'shot-42' })),
    ]);
    expect(await settled(jobs)).toEqual(['completed', 'completed', 'completed']);
    const rows = await db.generationJob.findMany({ where: { requestId: 'shot-42' }, orderBy: { source: 'asc' } });
    expect(rows.map((r) => [r.source, r.stage])).toEqual([['render-farm', 'resolved'], ['storyboard', 'resolved']]);
    const returned = await Promise.all(jobs.map(async (j) => (await requests.getJob(j.id!))!.returnvalue as { generationId: string }));
    expect(returned[0].generationId).toBe(returned[1].generationId);
    expect(returned[2].generationId).not.toBe(returned[0].generationId);
    expect(await db.jobEvent.count({ where: { jobId: rows[0].id, type: 'job:queued' } })).toBe(1);
  });

  it('when a request fails and its queue job is retried after the character exists, then the stage runs again and resolves', async () => {
    const failuresBefore = await failuresCounted('character_not_found');
    const added = await requests.add(entry.jobName, message({ source: 'late', requestId: 'needs-yuki', character: 'yuki' }));
    expect(await settled([added])).toEqual(['failed']);
    const failed = await db.generationJob.findFirstOrThrow({ where: { source: 'late', requestId: 'needs-yuki' } });
    expect(failed).toMatchObject({ status: 'failed', stage: 'requested', errorCode: 'character_not_found' });
    // The service's /metrics counts the failure once, by its code.
    expect(await failuresCounted('character_not_found')).toBe(failuresBefore + 1);

    const yuki = await db.character.create({ data: { slug: 'yuki', name: 'Yuki', currentVersion: 1 } });
    await db.characterVersion.create({ data: { characterId: yuki.id, number: 1, definition: { displayName: 'Yuki' } } });
    await (await requests.getJob(added.id!))!.retry('failed');
    const resolved = await waitFor(async () => {
      const row = await db.generationJob.findUniqueOrThrow({ where: { id: failed.id } });
      return row.stage === 'resolved' ? row : null;
    }, 'the retried request to resolve');
    expect(resolved).toMatchObject({ status: 'queued', errorCode: null, characterId: yuki.id });
  });

  it('when a message names a registered template, then its version and params are recorded; a parameter it refuses fails the job with invalid_request naming it', async () => {
    await registerWorkflow(db, {
      slug: 'studio',
      graph: {
        '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      },
      params: { color: { type: 'int', node: '1', input: 'color', min: 0, max: 16777215, default: 255 }, width: { type: 'int', node: '1', input: 'width' } },
    });
    const jobs = await Promise.all([
      requests.add(entry.jobName, message({ source: 'farm', requestId: 'tpl-ok', workflow: 'studio@1', params: { color: 65280 } })),
      requests.add(entry.jobName, message({ source: 'farm', requestId: 'tpl-bad', workflow: 'studio', params: { color: -1, width: 64 } })),
    ]);
    expect(await settled(jobs)).toEqual(['completed', 'failed']);
    const ok = await db.generationJob.findFirstOrThrow({ where: { source: 'farm', requestId: 'tpl-ok' } });
    expect(ok.stage).toBe('resolved');
    expect((ok.conditioning as { workflow: unknown }).workflow).toEqual({ slug: 'studio', version: 1, params: { color: 65280 } });
    const bad = await db.generationJob.findFirstOrThrow({ where: { source: 'farm', requestId: 'tpl-bad' } });
    expect(bad).toMatchObject({ status: 'failed', stage: 'requested', errorCode: 'invalid_request' });
    expect(bad.errorMessage).toContain('params.color: must be ≥ 0 (got -1)');
    expect(bad.errorMessage).toContain('params.width: "width" is filled from the request');
  });

  it('when a message requires references its character has none of, then the job fails with invalid_request naming the version', async () => {
    const [job] = [await requests.add(entry.jobName, message({ source: 'farm', requestId: 'refs-required', references: 'required' }))];
    expect(await settled([job])).toEqual(['failed']);
    const failed = await db.generationJob.findFirstOrThrow({ where: { source: 'farm', requestId: 'refs-required' } });
    expect(failed).toMatchObject({ status: 'failed', stage: 'requested', errorCode: 'invalid_request', errorDetails: { character: 'kai-nakamura', version: 1 } });
    expect(failed.errorMessage).toContain('"references": "required" but kai-nakamura version 1 has no reference images');
  });
  it('when a message names a webhook URL no endpoint is registered at, then its queue job fails once saying so, is not retried, and no generation is made', async () => {
    const added = await requests.add(entry.jobName, message({ source: 'farm', requestId: 'wants-hook', webhook: { url: 'https://example.test/hook' } }), { attempts: 5 });
    expect(await settled([added])).toEqual(['failed']);
    const job = (await requests.getJob(added.id!))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('is not a registered webhook endpoint');
    expect(await db.generationJob.count({ where: { source: 'farm', requestId: 'wants-hook' } })).toBe(0);
  });

  it('when a message holds NUL or a lone surrogate in webhook.url, correlationId or requestId, then each job is refused once, unretried, naming the field, and no generation is made', async () => {
    const unstorable: [string, Partial<GenerationRequestMessageInput>][] = [
      ['webhook.url', { requestId: 'nul-hook', webhook: { url: 'https://example.com/\u0000' } }],
      ['webhook.url', { requestId: 'surrogate-hook', webhook: { url: 'https://example.com/\ud800' } }],
      ['correlationId', { requestId: 'nul-correlation', correlationId: 'a\u0000' }],
      ['requestId', { requestId: 'nul-\u0000-request' }],
    ];
    const added = await Promise.all(unstorable.map(([, fields]) => requests.add(entry.jobName, message({ source: 'unstorable', ...fields }), { attempts: 5 })));
    expect(await settled(added)).toEqual(unstorable.map(() => 'failed'));
    for (const [index, [field]] of unstorable.entries()) {
      const job = (await requests.getJob(added[index].id!))!;
      expect({ field, attemptsMade: job.attemptsMade }).toEqual({ field, attemptsMade: 1 });
      expect(job.failedReason).toContain(`invalid generation-requests payload: ${field}: must not contain NUL characters or lone UTF-16 surrogates`);
    }
    expect(await db.generationJob.count({ where: { source: 'unstorable' } })).toBe(0);
  });

  it('when a message is larger than MAX_QUEUE_PAYLOAD_BYTES, then it is refused before parsing, once, naming the limit, and the worker goes on', async () => {
    const huge = message({ source: 'farm', requestId: 'huge', params: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, 'x'.repeat(20)])) });
    const added = await requests.add(entry.jobName, huge, { attempts: 5 });
    const after = await requests.add(entry.jobName, message({ source: 'farm', requestId: 'after-huge' }));
    expect(await settled([added, after])).toEqual(['failed', 'completed']);
    const job = (await requests.getJob(added.id!))!;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/more than the limit of 65536/);
    // Redis keeps the failed job for days, not its 400 KB: the first 4 KiB of it, as a string.
    expect(job.data).toBe(JSON.stringify(huge).slice(0, 4_096));
    expect(await db.generationJob.count({ where: { source: 'farm', requestId: 'huge' } })).toBe(0);
  });

  it('when a message has a wrong or missing schemaVersion, is not an object, or holds a __proto__ param, then it is refused once naming what is wrong, not a bare "Invalid input"', async () => {
    const bad: [unknown, string][] = [
      [{ ...message({ source: 'versions', requestId: 'v2' }), schemaVersion: 2 }, 'schemaVersion: Invalid input: expected 1'],
      [{ ...message({ source: 'versions', requestId: 'v-none' }), schemaVersion: undefined }, 'schemaVersion: Invalid input: expected 1'],
      [{ ...message({ source: 'versions', requestId: 'v-string' }), schemaVersion: '1' }, 'schemaVersion: Invalid input: expected 1'],
      [null, '(payload): Invalid input: expected object, received null'],
      [{ schemaVersion: 1, source: 'versions', requestId: 'no-character', prompt: 'x' }, 'character: Invalid input: expected string, received undefined'],
      [JSON.parse('{"schemaVersion":1,"source":"versions","requestId":"proto","character":"kai-nakamura","prompt":"x","params":{"__proto__":{"x":1}}}'), 'params.__proto__: "__proto__" is not allowed as a key'],
    ];
    const added = await Promise.all(bad.map(([payload]) => requests.add(entry.jobName, payload, { attempts: 5 })));
    expect(await settled(added)).toEqual(bad.map(() => 'failed'));
    for (const [index, [, reason]] of bad.entries()) {
      const job = (await requests.getJob(added[index].id!))!;
      expect({ attemptsMade: job.attemptsMade, failedReason: job.failedReason }).toEqual({ attemptsMade: 1, failedReason: `invalid generation-requests payload: ${reason}` });
    }
    expect(await db.generationJob.count({ where: { source: 'versions' } })).toBe(0);
  });

  it('when a message only references a generation that does not exist, then it fails once saying so, whatever attempts says', async () => {
    const added = await requests.add(entry.jobName, { schemaVersion: 1, generationId: '00000000-0000-4000-8000-000000000000' }, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });
    expect(await settled([added])).toEqual(['failed']);
    const job = (await requests.getJob(added.id!))!;
    expect({ attemptsMade: job.attemptsMade, failedReason: job.failedReason }).toEqual({ attemptsMade: 1, failedReason: 'generation 00000000-0000-4000-8000-000000000000 does not exist' });
  });
});
