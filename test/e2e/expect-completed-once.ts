import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '@anime/testing';
import type { StackFixture } from './stack-fixture';

async function filesOfJob(libraryDir: string, jobId: string): Promise<string[]> {
  const entries = await readdir(libraryDir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.includes(jobId)).map((e) => path.join(e.parentPath, e.name));
}

/** The job ends completed with one Asset, one image and its sidecar, and one `job:completed` event. */
export async function expectCompletedOnce(fx: StackFixture, jobId: string) {
  const done = await waitFor(async () => {
    const job = await fx.db.generationJob.findUnique({ where: { id: jobId } });
    return job && ['completed', 'failed'].includes(job.status) ? job : null;
  }, `generation ${jobId} to end`, 90_000, 200);
  expect(done.errorMessage).toBeNull();
  expect(done.status).toBe('completed');
  expect(await fx.db.asset.count({ where: { jobId } })).toBe(1);
  // One image and its sidecar, nothing filed twice.
  expect((await filesOfJob(fx.libraryDir, jobId)).map((f) => path.extname(f)).sort()).toEqual(['.json', '.png']);
  const events = await fx.db.jobEvent.findMany({ where: { jobId }, orderBy: { seq: 'asc' } });
  expect(events.filter((e) => e.type === 'job:completed')).toHaveLength(1);
  expect(events[0].type).toBe('job:queued');
  return done;
}
