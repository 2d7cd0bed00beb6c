import { createDb, type Db } from '@anime/db';
import { loadGenerationResource } from '@anime/pipeline';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { readGenerationResource, readGenerationResources } from '../src/data/generation-resources';
import { kaiDefinition } from './fixtures';

let database: TestDatabase;
let db: Db;
const ids: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('gen-resources');
  db = createDb(database.url, { max: 2 });
  const kai = await db.character.create({ data: { slug: 'kai', name: 'Kai Nakamura', currentVersion: 1 } });
  const version = await db.characterVersion.create({ data: { characterId: kai.id, number: 1, definition: kaiDefinition } });
  const at = (s: number) => new Date(Date.UTC(2026, 10, 28, 10, 0, s, 123));
  const full = await db.generationJob.create({
    data: {
      status: 'failed',
      stage: 'rendered',
      source: 'queue',
      requestId: 'req-1',
      request: { character: 'kai', prompt: 'rooftop', nested: { a: [1, 'two', null] } },
      characterId: kai.id,
      characterVersionId: version.id,
      outfit: 'school',
      conditioning: {
        positive: 'kai',
        negative: '',
        loras: [],
        references: [{ id: '7d3c1b4e-0000-4000-8000-000000000001', label: 'front', kind: 'face', sha256: 'a'.repeat(64), path: 'refs/front.png' }],
        outfit: 'school',
        workflow: { slug: 'txt2img', version: 1, params: { steps: 4 } },
      },
      referenceUse: [{ sha256: 'a'.repeat(64), applied: true, appliedHow: 'ip-adapter' }],
      // Beyond 2^53: read the same way by both (Number of the bigint).
      seed: 9007199254740993n,
      backend: 'b1',
      promptId: 'p-2',
      progressValue: 3,
      progressMax: 4,
      progressNode: 'KSampler',
      errorCode: 'comfyui_validation',
      errorMessage: 'bad node',
      errorDetails: { nodes: [{ id: '3', message: 'x' }] },
      project: 'alpha',
      episode: 'ep1',
      scene: 'sc1',
      shot: 's1',
      createdAt: at(0),
      startedAt: at(1),
      finishedAt: at(9),
    },
  });
  await db.jobAttempt.create({ data: { jobId: full.id, number: 2, backend: 'b1', promptId: 'p-2', submittedAt: at(5), startedAt: at(6), finishedAt: at(9), error: { code: 'x', nested: [1] } } });
  await db.jobAttempt.create({ data: { jobId: full.id, number: 1, backend: 'b0', promptId: 'p-1', submittedAt: at(2) } });
  for (const key of ['b', 'a']) {
    await db.asset.create({
      data: {
        jobId: full.id,
        characterVersionId: version.id,
        sourceKey: `out-${key}`,
        path: `alpha/ep1/${key}.png`,
        sha256: key.repeat(64),
        bytes: 1234,
        width: 64,
        height: 32,
        mime: 'image/png',
        project: 'alpha',
        episode: 'ep1',
        scene: 'sc1',
        shot: key === 'a' ? null : 's1',
        metadata: { outfit: 'school', references: [{ id: 'r1', label: 'front', kind: 'face', sha256: 'c'.repeat(64), applied: false }] },
        createdAt: at(10),
      },
    });
  }
  const bare = await db.generationJob.create({ data: { request: { prompt: 'x' }, project: 'beta', episode: 'e', scene: 's' } });
  ids.push(full.id, bare.id);
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('generation resources read in one statement', () => {
  it('when generations with and without character, attempts and assets are read, then the answer is exactly what loadGenerationResource gives', async () => {
    const expected = await Promise.all(ids.map((id) => loadGenerationResource(db, id)));
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await readGenerationResources(db, [...ids, missing])).toEqual(expected);
    expect(JSON.stringify(await readGenerationResources(db, ids))).toBe(JSON.stringify(expected));
    expect(await readGenerationResource(db, missing)).toBeNull();
    // One generation alone is read by its own statement: the same answer, key order included.
    for (const [i, id] of ids.entries()) expect(JSON.stringify(await readGenerationResource(db, id))).toBe(JSON.stringify(expected[i]));
  });

  it("when a caller's projects do not reach the generation, then it reads as missing", async () => {
    expect(await readGenerationResource(db, ids[0], ['beta'])).toBeNull();
    expect(await readGenerationResource(db, ids[0], ['alpha'])).toEqual(await loadGenerationResource(db, ids[0]));
  });
});
