import { graphTakes, PRIORITY_RANK, type ReferenceUse } from '@anime/contracts';
import { NoCapableBackendError, RequestUnsatisfiableError } from '@anime/pipeline';
import type { BackendLease } from '../domain/backend-pool';
import type { JobNeeds } from '../domain/backends/route-job';
import type { Workflow } from '../domain/build-workflow';
import { templateCheckpoint } from '../domain/bind-template';
import { conditionsOnReferences } from '../domain/reference-use';
import { DEFAULT_IPADAPTER_WEIGHT, prepareWorkflow, type JobToRender, type PrepareWorkflowDeps } from './prepare-workflow';

export interface Placement {
  lease: BackendLease;
  workflow: Workflow;
  referenceUse: ReferenceUse;
}

const classesOf = (workflow: Workflow) => [...new Set(Object.values(workflow).map((node) => node.class_type))];
/** The LoRA files the graph names (a template's own LoraLoader literals as well as the character's chain). */
const lorasOf = (workflow: Workflow) => [...new Set(Object.values(workflow).flatMap((node) => (typeof node.inputs.lora_name === 'string' ? [node.inputs.lora_name] : [])))];

/**
 * Finds the backend for one attempt and builds the job's graph for it. The graph's node classes
 * (and the LoRA files a template's own nodes name) are known only once it is built, so a backend
 * lacking one is ruled out and routing runs again knowing them; the pool then refuses or waits as
 * for a missing model.
 * `"references": "required"` on the built-in graph needs a backend with IP-Adapter; a template
 * must feed a reference into one of its image parameters, whatever the backend.
 * `handBack`: nothing of the job has begun, so rather than wait behind as many jobs as the full
 * backends it needs have places, it may be handed back to its queue (BackendPool.acquire): its
 * queue job's id, whether it may have been handed back before (it ran before), and how often at most.
 */
export async function placeJob(deps: PrepareWorkflowDeps, job: JobToRender, options: { deadlineAt: number; limitS: number; signal?: AbortSignal; avoid?: string; handBack?: { queueJobId: string; returning: boolean; handedBackBefore: number } }): Promise<Placement> {
  const required = job.request.references === 'required';
  if (required && !job.template && (deps.ipAdapterWeight ?? DEFAULT_IPADAPTER_WEIGHT) <= 0) {
    throw new NoCapableBackendError('"references": "required" but IP-Adapter is disabled here (IPADAPTER_WEIGHT=0), so no backend can condition on a reference', { missing: ['IP-Adapter (IPADAPTER_WEIGHT is 0)'] });
  }
  const needs: JobNeeds = {
    checkpoint: job.conditioning.checkpoint,
    templateCheckpoint: templateCheckpoint(job.template),
    loadsCheckpoint: graphTakes(job.template, 'checkpoint'),
    // A template without a `loras` parameter applies none of the character's LoRAs, so needs none.
    loras: graphTakes(job.template, 'loras') ? job.conditioning.loras.map((l) => l.name) : [],
    nodeClasses: [],
    ipAdapter: required && !job.template,
    prefersIpAdapter: !required && !job.template && (job.conditioning.references?.length ?? 0) > 0 && (deps.ipAdapterWeight ?? DEFAULT_IPADAPTER_WEIGHT) > 0,
    avoid: options.avoid,
  };
  for (;;) {
    const lease = await deps.pool.acquire(needs, { deadlineAt: options.deadlineAt, limitS: options.limitS, signal: options.signal, rank: PRIORITY_RANK[job.request.priority], handBackAs: options.handBack?.queueJobId, returning: options.handBack?.returning, handedBackBefore: options.handBack?.handedBackBefore, jobId: job.id });
    try {
      const { workflow, referenceUse } = await prepareWorkflow(deps, job, lease);
      if (required && !conditionsOnReferences(referenceUse)) {
        throw new RequestUnsatisfiableError('"references": "required" but the graph feeds none of the references into the model', { references: referenceUse });
      }
      const classes = classesOf(workflow);
      const loras = lorasOf(workflow);
      const available = lease.capabilities?.nodeClasses ?? [];
      const availableLoras = lease.capabilities?.loras ?? [];
      // A LoRA the backend lacks is refused by ComfyUI (value_not_in_list): routed as a character's LoRA is.
      if (classes.every((name) => available.includes(name)) && loras.every((name) => availableLoras.includes(name))) return { lease, workflow, referenceUse };
      needs.nodeClasses = [...new Set([...needs.nodeClasses, ...classes])];
      needs.loras = [...new Set([...needs.loras, ...loras])];
    } catch (error) {
      lease.release();
      throw error;
    }
    lease.release();
  }
}
