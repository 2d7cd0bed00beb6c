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
}

export const SAVE_NODE_ID = '9';

/**
 * The default text-to-image template (checkpoint → LoRA chain → prompts → KSampler → save).
 * LoRAs become chained LoraLoader nodes between the checkpoint and its consumers. Outputs go to
 * `jobs/<jobId>/...` so each job's files are isolated in ComfyUI's output folder.
 */
export function buildTextToImageWorkflow(params: WorkflowParams): Workflow {
  const workflow: Workflow = {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: params.checkpoint }, _meta: { title: 'checkpoint' } },
  };
  let model: [string, number] = ['4', 0];
  let clip: [string, number] = ['4', 1];
  params.loras.forEach((lora, index) => {
    const id = String(20 + index);
    workflow[id] = {
      class_type: 'LoraLoader',
      inputs: { model, clip, lora_name: lora.name, strength_model: lora.weight, strength_clip: lora.weight },
      _meta: { title: `lora ${lora.name}` },
    };
    model = [id, 0];
    clip = [id, 1];
  });
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
