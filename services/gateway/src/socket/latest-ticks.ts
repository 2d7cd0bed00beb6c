import { TERMINAL_EVENTS, type JobEventEnvelope } from '@anime/contracts';

/** The most jobs whose latest tick is kept: more than the backends of any studio run at once. */
export const MAX_TICKED_JOBS = 10_000;

/**
 * The latest `job:progress` each job published, as this gateway heard it live. The orchestrator
 * publishes ticks at once but stores the latest only every 500 ms (and the last with the outputs),
 * so a story read from PostgreSQL can lack the progress a subscriber arriving meanwhile would
 * otherwise never see: the replay adds the tick kept here. A job's tick goes at its terminal event;
 * past MAX_TICKED_JOBS the job ticked least recently goes (a job whose end this gateway missed).
 */
export class LatestTicks {
  private readonly byJob = new Map<string, JobEventEnvelope>();

  constructor(private readonly maxJobs = MAX_TICKED_JOBS) {}

  /** Notes a live event of `jobId`. */
  observe(jobId: string, envelope: JobEventEnvelope): void {
    if (TERMINAL_EVENTS.includes(envelope.name)) {
      this.byJob.delete(jobId);
      return;
    }
    if (envelope.name !== 'job:progress' || !Number.isSafeInteger(envelope.seq)) return;
    const kept = this.byJob.get(jobId);
    if (kept && kept.seq >= envelope.seq) return;
    // Re-inserted, so that the Map's order is the order of the jobs' latest ticks.
    this.byJob.delete(jobId);
    this.byJob.set(jobId, envelope);
    if (this.byJob.size > this.maxJobs) this.byJob.delete(this.byJob.keys().next().value!);
  }

  latest(jobId: string): JobEventEnvelope | undefined {
    return this.byJob.get(jobId);
  }

  get size(): number {
    return this.byJob.size;
  }
}
