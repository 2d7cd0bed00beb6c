import { waitFor } from '@anime/testing';
import type { StackFixture } from './stack-fixture';

/** The generation's row once ComfyUI runs its prompt (a few progress ticks stored), within 30 s. */
export function untilPromptRuns(fx: StackFixture, jobId: string) {
  return waitFor(() => fx.db.generationJob.findFirst({ where: { id: jobId, status: 'running', progressValue: { gt: 2 } } }), 'the prompt to be running', 30_000);
}
