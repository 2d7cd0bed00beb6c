import { createDb } from '@anime/db';
import type { PromptTiming } from './prompt-timings';
import type { JobRun } from './run-jobs';
import { percentile } from './stats';

/** Where a job's time goes, stage by stage, from the timestamps PostgreSQL and the backend recorded. */
export const STAGES = [
  // The gateway resolves the character before it writes the row (resolved once on this path).
  'gateway: request → resolved job row',
  'orchestrator: job row → started',
  'orchestrator: started → backend starts the prompt',
  'backend: execution',
  'orchestrator: backend done → outputs recorded',
  'file-organizer: outputs → asset filed',
  'file-organizer: asset → job completed',
  'gateway: completed → Socket.IO client',
] as const;

export async function stageBreakdown(databaseUrl: string, runs: JobRun[], timings: PromptTiming[]): Promise<{ stage: string; p50: number }[]> {
  const db = createDb(databaseUrl, { max: 2 });
  try {
    const samples = new Map<string, number[]>(STAGES.map((s) => [s, []]));
    for (const [i, run] of runs.entries()) {
      const job = await db.generationJob.findUniqueOrThrow({ where: { id: run.id }, include: { attempts: true, assets: true } });
      const attemptEnd = job.attempts[0]?.finishedAt?.getTime();
      const asset = job.assets[0]?.createdAt.getTime();
      if (!job.startedAt || !job.finishedAt || attemptEnd === undefined || asset === undefined) continue;
      const t = timings[i];
      const values = [
        job.createdAt.getTime() - run.submittedAt,
        job.startedAt.getTime() - job.createdAt.getTime(),
        t.startedAt - job.startedAt.getTime(),
        t.finishedAt - t.startedAt,
        attemptEnd - t.finishedAt,
        asset - attemptEnd,
        job.finishedAt.getTime() - asset,
        run.completedAt - job.finishedAt.getTime(),
      ];
      STAGES.forEach((stage, k) => samples.get(stage)!.push(values[k]));
    }
    return STAGES.map((stage) => ({ stage, p50: percentile(samples.get(stage)!, 50) }));
  } finally {
    await db.$disconnect();
  }
}
