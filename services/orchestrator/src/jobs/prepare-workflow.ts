import type { GenerationRequestBody, JobConditioning, ReferenceUse } from '@anime/contracts';
import type { TemplateVersion } from '@anime/workflows';
import type { BackendLease, BackendPool } from '../domain/backend-pool';
import { bindTemplate } from '../domain/bind-template';
import { buildTextToImageWorkflow, type Workflow } from '../domain/build-workflow';
import type { ReferenceStager } from '../domain/reference-stager';
import { templateReferenceUse, txt2imgReferenceUse } from '../domain/reference-use';

export interface PrepareWorkflowDeps {
  pool: BackendPool;
  stager: ReferenceStager;
  defaultCheckpoint?: string;
  /** IPADAPTER_WEIGHT: how strongly a reference steers the model where IP-Adapter exists; 0 = never. */
  ipAdapterWeight?: number;
}

export interface JobToRender {
  id: string;
  seed: bigint | null;
  request: GenerationRequestBody;
  conditioning: JobConditioning;
  characterSlug: string;
  /** The registered template the generation recorded; absent for the built-in txt2img. */
  template?: TemplateVersion | null;
}

export const DEFAULT_IPADAPTER_WEIGHT = 0.7;

export interface PreparedWorkflow {
  workflow: Workflow;
  /** Per reference, whether this graph conditions the model with it on this backend. */
  referenceUse: ReferenceUse;
}

/**
 * Builds the prompt for one attempt on one backend: the checkpoint routing chose there, the job's
 * conditioning, and its reference images uploaded there first. Models and node classes come from
 * the pool's cached capabilities, never asked per job.
 */
export async function prepareWorkflow(deps: PrepareWorkflowDeps, job: JobToRender, backend: Pick<BackendLease, 'url' | 'client' | 'checkpoint' | 'capabilities'>): Promise<PreparedWorkflow> {
  const { request, conditioning } = job;
  const weight = deps.ipAdapterWeight ?? DEFAULT_IPADAPTER_WEIGHT;
  const references = await deps.stager.stage(backend.url, backend.client, conditioning.references ?? []);
  const ipAdapterOnBackend = !!backend.capabilities?.ipAdapter;
  const ipAdapter = references.length > 0 && weight > 0 && ipAdapterOnBackend;
  const checkpoint = backend.checkpoint;
  if (job.template) {
    const filled = { prompt: conditioning.positive, negative: conditioning.negative, seed: Number(job.seed ?? 0), steps: request.steps, width: request.width, height: request.height, count: request.count, checkpoint };
    const workflow = bindTemplate({ template: job.template, jobId: job.id, characterSlug: job.characterSlug, filled, loras: conditioning.loras, references });
    return { workflow, referenceUse: templateReferenceUse(references, job.template.params) };
  }
  const workflow = buildTextToImageWorkflow({
    jobId: job.id,
    characterSlug: job.characterSlug,
    checkpoint,
    positive: conditioning.positive,
    negative: conditioning.negative,
    loras: conditioning.loras,
    seed: Number(job.seed ?? 0),
    steps: request.steps,
    width: request.width,
    height: request.height,
    count: request.count,
    references,
    ...(ipAdapter ? { ipAdapter: { weight } } : {}),
  });
  return { workflow, referenceUse: txt2imgReferenceUse(references, { ipAdapterOnBackend, weight }) };
}
