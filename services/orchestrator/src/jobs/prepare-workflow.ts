import type { ComfyClient } from '@anime/comfyui-client';
import type { GenerationRequestBody, JobConditioning } from '@anime/contracts';
import type { BackendPool } from '../domain/backend-pool';
import { buildTextToImageWorkflow, type Workflow } from '../domain/build-workflow';
import { chooseCheckpoint } from '../domain/choose-checkpoint';
import type { ReferenceStager } from '../domain/reference-stager';

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
}

const DEFAULT_IPADAPTER_WEIGHT = 0.7;

/**
 * Builds the prompt for one attempt on one backend: the checkpoint that backend has, the job's
 * conditioning, and its reference images uploaded there first.
 */
export async function prepareWorkflow(deps: PrepareWorkflowDeps, job: JobToRender, backend: { url: string; client: ComfyClient }): Promise<Workflow> {
  const { request, conditioning } = job;
  const weight = deps.ipAdapterWeight ?? DEFAULT_IPADAPTER_WEIGHT;
  const [available, references, ipAdapter] = await Promise.all([
    backend.client.listCheckpoints(),
    deps.stager.stage(backend.url, backend.client, conditioning.references ?? []),
    conditioning.references?.length && weight > 0 ? deps.pool.hasIpAdapter(backend.url) : Promise.resolve(false),
  ]);
  const checkpoint = chooseCheckpoint(available, conditioning.checkpoint, deps.defaultCheckpoint) ?? 'no-checkpoint-available.safetensors';
  return buildTextToImageWorkflow({
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
}
