import type { BackendLease } from '../domain/backend-pool';
import type { JobNeeds } from '../domain/backends/route-job';
import type { Workflow } from '../domain/build-workflow';
import { templateCheckpoint } from '../domain/bind-template';
import { prepareWorkflow, type JobToRender, type PrepareWorkflowDeps } from './prepare-workflow';

export interface Placement {
  lease: BackendLease;
  workflow: Workflow;
}

const classesOf = (workflow: Workflow) => [...new Set(Object.values(workflow).map((node) => node.class_type))];

/**
 * Finds the backend for one attempt and builds the job's graph for it. The graph's node classes
 * are known only once it is built (a template decides them), so a backend lacking one is ruled out
 * and routing runs again knowing them; the pool then refuses or waits as for a missing model.
 */
export async function placeJob(deps: PrepareWorkflowDeps, job: JobToRender, options: { deadlineAt: number; limitS: number; signal?: AbortSignal }): Promise<Placement> {
  const needs: JobNeeds = { checkpoint: job.conditioning.checkpoint ?? templateCheckpoint(job.template), loras: job.conditioning.loras.map((l) => l.name), nodeClasses: [] };
  for (;;) {
    const lease = await deps.pool.acquire(needs, options);
    try {
      const workflow = await prepareWorkflow(deps, job, lease);
      const classes = classesOf(workflow);
      const available = lease.capabilities?.nodeClasses ?? [];
      if (classes.every((name) => available.includes(name))) return { lease, workflow };
      needs.nodeClasses = [...new Set([...needs.nodeClasses, ...classes])];
    } catch (error) {
      lease.release();
      throw error;
    }
    lease.release();
  }
}
