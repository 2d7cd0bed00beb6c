import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { createLogger } from '@anime/logger';
import { partialPathFor } from '@anime/media';
import { loadGeneration } from '@anime/pipeline';
import { libraryPath } from '../src/domain/library-path';
import { startFilingHandlerFixture, type FilingHandlerFixture } from './filing-handler-fixture';

const log = createLogger('file-organizer', 'error');

/**
 * Found by the round-38 crash hunt (kill -9 of the file-organizer mid-filing, Redis emptied): a try
 * killed while writing a generation's third image left that image's temp files; the recovery sweep
 * queued the generation afresh (its BullMQ counters at 0, so not taken to follow a cut write), and
 * the new process's try listed the folder for the first output only (each listing removes the temp
 * files of the path just written): the later outputs' stayed until the hourly sweep of stale partials.
 */
describe('filing after a killed try, queued afresh by the recovery sweep (file-organizer handler, simulator, PostgreSQL, Redis)', () => {
  let fx: FilingHandlerFixture;

  beforeAll(async () => {
    fx = await startFilingHandlerFixture('filing-leftovers-later', 'kai-leftovers');
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('when an earlier try was killed writing the second output, then a new process filing it again leaves none of the temp files it left', async () => {
    const { id } = await fx.rendered('left', 'sc001', 2);
    const second = path.join(fx.libraryDir, libraryPath({ project: 'left', episode: 'ep01', scene: 'sc001', shot: null, characterSlug: fx.character.slug, version: 1, jobId: id, index: 1, extension: 'png' }));
    await mkdir(path.dirname(second), { recursive: true });
    await writeFile(partialPathFor(second), 'half an image');
    await writeFile(partialPathFor(`${second}.json`), '{"half');

    // A new process (nothing listed yet), its try fresh: not taken to follow a cut write.
    const handler = fx.handler();
    const outcome = await handler.run((await loadGeneration(fx.db, id))!, { job: { attemptsMade: 0, stalledCounter: 0 } as Job, log });
    expect(outcome.reached).toBe('filed');
    const names = await readdir(path.dirname(second));
    expect(names.filter((name) => name.endsWith('.partial'))).toEqual([]);
    expect(names.filter((name) => name.endsWith('.png')).sort()).toEqual([path.basename(second).replace('_02.png', '_01.png'), path.basename(second)]);
  });
});
