/** One node of an API-format ComfyUI workflow (see comfyui-protocol.md §8). */
export interface WorkflowNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title: string };
}
export type Workflow = Record<string, WorkflowNode>;

export interface WorkflowParams {
  jobId: string;
  characterSlug: string;
  checkpoint: string;
  positive: string;
  negative: string;
  loras: { name: string; weight: number }[];
  seed: number;
  steps: number;
  width: number;
  height: number;
  count: number;
  cfg?: number;
  sampler?: string;
  scheduler?: string;
  /** Reference images already uploaded to this backend, each loaded by a LoadImage node. */
  references?: StagedReference[];
  /** Set when the backend has the IP-Adapter nodes: the reference input that conditions the model. */
  ipAdapter?: IpAdapterOptions;
}

export interface StagedReference {
  sha256: string;
  kind: string;
  /** The name the backend gave the upload, as LoadImage wants it: `subfolder/name`. */
  image: string;
}

export interface IpAdapterOptions {
  weight: number;
}

export const SAVE_NODE_ID = '9';
/**
 * LoRA n is node 20+n (at most 20 LoRAs), reference n is LoadImage 50+n for the first 20 and
 * 100+(n-20) after them (a character may have any number), the IP-Adapter pair 70/71.
 */
const FIRST_LORA_NODE = 20;
const FIRST_REFERENCE_NODE = 50;
const REFERENCES_BEFORE_IPADAPTER = 20;
const LATER_REFERENCE_NODE = 100;
const IPADAPTER_LOADER_NODE = '70';
const IPADAPTER_NODE = '71';

/** The LoadImage node of reference `index`: never one of the fixed nodes, whatever the count. */
function referenceNodeId(index: number): string {
  return String(index < REFERENCES_BEFORE_IPADAPTER ? FIRST_REFERENCE_NODE + index : LATER_REFERENCE_NODE + index - REFERENCES_BEFORE_IPADAPTER);
}

/** The reference that feeds IP-Adapter: the first face one, else the first (-1 when there is none). */
export function conditioningReferenceIndex(references: { kind: string }[]): number {
  const face = references.findIndex((r) => r.kind === 'face');
  return face >= 0 ? face : references.length ? 0 : -1;
}

/**
 * The default text-to-image template (checkpoint → LoRA chain → prompts → KSampler → save).
 * LoRAs become chained LoraLoader nodes between the checkpoint and its consumers. Outputs go to
 * `jobs/<jobId>/...` so each job's files are isolated in ComfyUI's output folder.
 *
 * Every reference becomes a LoadImage node, so the graph ComfyUI stores (in its history and in
 * each PNG's metadata) names the exact images used. With `ipAdapter` the template has a reference
 * input: the first face reference (else the first one) feeds IPAdapterUnifiedLoader → IPAdapter
 * between the LoRA chain and the sampler. Without it the LoadImage nodes feed nothing, and
 * ComfyUI neither validates nor runs a node no output depends on.
 */
export function buildTextToImageWorkflow(params: WorkflowParams): Workflow {
  const workflow: Workflow = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: params.checkpoint }, _meta: { title: 'checkpoint' } },
  };
  let model: [string, number] = ['4', 0];
  let clip: [string, number] = ['4', 1];
  params.loras.forEach((lora, index) => {
    const id = String(FIRST_LORA_NODE + index);
    workflow[id] = {
      class_type: 'LoraLoader',
      inputs: { model, clip, lora_name: lora.name, strength_model: lora.weight, strength_clip: lora.weight },
      _meta: { title: `lora ${lora.name}` },
    };
    model = [id, 0];
    clip = [id, 1];
  });
  const references = params.references ?? [];
  references.forEach((reference, index) => {
    workflow[referenceNodeId(index)] = {
      class_type: 'LoadImage',
      inputs: { image: reference.image },
      _meta: { title: `reference ${reference.kind} ${reference.sha256.slice(0, 12)}` },
    };
  });
  if (params.ipAdapter && references.length) {
    const conditioningImage = conditioningReferenceIndex(references);
    const imageNode = referenceNodeId(conditioningImage);
    const face = references[conditioningImage].kind === 'face';
    workflow[IPADAPTER_LOADER_NODE] = {
      class_type: 'IPAdapterUnifiedLoader',
      inputs: { model, preset: face ? 'PLUS FACE (portraits)' : 'PLUS (high strength)' },
    };
    workflow[IPADAPTER_NODE] = {
      class_type: 'IPAdapter',
      inputs: {
        model: [IPADAPTER_LOADER_NODE, 0],
        ipadapter: [IPADAPTER_LOADER_NODE, 1],
        image: [imageNode, 0],
        weight: params.ipAdapter.weight,
        start_at: 0,
        end_at: 1,
        weight_type: 'standard',
      },
    };
    model = [IPADAPTER_NODE, 0];
  }
  workflow['6'] = { class_type: 'CLIPTextEncode', inputs: { text: params.positive, clip }, _meta: { title: 'positive' } };
  workflow['7'] = { class_type: 'CLIPTextEncode', inputs: { text: params.negative, clip }, _meta: { title: 'negative' } };
  workflow['5'] = { class_type: 'EmptyLatentImage', inputs: { width: params.width, height: params.height, batch_size: params.count } };
  workflow['3'] = {
    class_type: 'KSampler',
    inputs: {
      model,
      seed: params.seed,
      steps: params.steps,
      cfg: params.cfg ?? 7,
      sampler_name: params.sampler ?? 'euler',
      scheduler: params.scheduler ?? 'normal',
      positive: ['6', 0],
      negative: ['7', 0],
      latent_image: ['5', 0],
      denoise: 1,
    },
  };
  workflow['8'] = { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } };
  workflow[SAVE_NODE_ID] = {
    class_type: 'SaveImage',
    inputs: { images: ['8', 0], filename_prefix: `jobs/${params.jobId}/${params.characterSlug}` },
  };
  return workflow;
}
