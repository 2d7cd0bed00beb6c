import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ConditioningReference } from '@anime/contracts';
import { LocalLibraryStorage, sha256Hex } from '@anime/media';
import { waitFor } from '@anime/testing';
import { startOrchestratorFixture, type OrchestratorFixture } from './orchestrator-fixture';

// The simulator moves bytes and never decodes references: any bytes with a PNG name will do.
const BYTES = Buffer.concat([Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64'), Buffer.from('lost')]);

describe('a reference whose library file is lost (orchestrator in-process, real PostgreSQL, Redis and simulator)', () => {
  let f: OrchestratorFixture;
  let reference: ConditioningReference;

  beforeAll(async () => {
    f = await startOrchestratorFixture('lost-reference-file', { simulators: [{ stepMs: 5 }] });
    const row = await f.db.characterReference.create({
      data: { characterId: f.character.id, label: 'face', kind: 'face', path: 'references/kai-nakamura/face.png', sha256: sha256Hex(BYTES), bytes: BYTES.length, mime: 'image/png' },
    });
    reference = { id: row.id, label: row.label, kind: row.kind, sha256: row.sha256, path: row.path };
    await new LocalLibraryStorage(f.libraryDir).write(row.path, BYTES);
  });

  afterAll(async () => {
    await f?.close();
  });

  const settled = (id: string) =>
    waitFor(async () => {
      const g = await f.db.generationJob.findUniqueOrThrow({ where: { id } });
      return g.stage === 'rendered' || g.status === 'failed' ? g : null;
    }, `generation ${id} to render or fail`, 30_000);
  const markedMissing = async () => (await f.db.characterReference.findUniqueOrThrow({ where: { id: reference.id } })).missing;

  it('when the file was deleted, then the job fails with reference_unavailable and the reference is recorded missing; put back, the next job renders and clears it', async () => {
    await rm(path.join(f.libraryDir, reference.path));
    const failed = await settled(await f.resolvedGeneration({}, { references: [reference] }));
    expect({ status: failed.status, errorCode: failed.errorCode }).toEqual({ status: 'failed', errorCode: 'reference_unavailable' });
    expect(await markedMissing()).toBe(true);

    await new LocalLibraryStorage(f.libraryDir).write(reference.path, BYTES);
    const rendered = await settled(await f.resolvedGeneration({}, { references: [reference] }));
    expect(rendered).toMatchObject({ stage: 'rendered' });
    expect(await markedMissing()).toBe(false);
  });

  it('when a folder stands where the file was, then the job fails with reference_unavailable as for a deleted file (no fault of the stage), and the reference is recorded missing', async () => {
    const file = path.join(f.libraryDir, reference.path);
    await rm(file);
    await mkdir(path.join(file, 'inside'), { recursive: true });
    try {
      const failed = await settled(await f.resolvedGeneration({}, { references: [reference] }));
      expect({ status: failed.status, errorCode: failed.errorCode }).toEqual({ status: 'failed', errorCode: 'reference_unavailable' });
      expect(await markedMissing()).toBe(true);
    } finally {
      await rm(file, { recursive: true, force: true });
      await new LocalLibraryStorage(f.libraryDir).write(reference.path, BYTES);
    }
    const rendered = await settled(await f.resolvedGeneration({}, { references: [reference] }));
    expect(rendered).toMatchObject({ stage: 'rendered' });
    expect(await markedMissing()).toBe(false);
  });
});
