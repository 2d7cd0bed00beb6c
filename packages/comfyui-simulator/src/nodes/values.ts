import { createHash } from 'node:crypto';

/** Stand-ins for the tensors and model objects that flow between real ComfyUI nodes. */
export interface LoraApplied { name: string; strength: number }
/** One IPAdapter node applied to a model: the loader's preset, the reference image and how strongly it steers. */
export interface IpAdapterApplied { preset: string; weight: number; weightType: string; startAt: number; endAt: number; image: ImageValue }
export interface ModelValue { kind: 'MODEL'; checkpoint: string; loras: LoraApplied[]; ipadapters?: IpAdapterApplied[] }
export interface ClipValue { kind: 'CLIP'; checkpoint: string; loras: LoraApplied[] }
export interface VaeValue { kind: 'VAE'; checkpoint: string }
export interface ConditioningValue { kind: 'CONDITIONING'; text: string; clip: ClipValue }
export interface LatentValue { kind: 'LATENT'; width: number; height: number; batchSize: number; seedMaterial?: string }
export type PixelRecipe = { kind: 'solid'; rgb: [number, number, number] } | { kind: 'pattern'; seed: string };
export interface ImageValue { kind: 'IMAGE'; width: number; height: number; frames: PixelRecipe[] }
export interface MaskValue { kind: 'MASK'; width: number; height: number }
/** The pipeline IPAdapterUnifiedLoader hands on: which preset's models it loaded. */
export interface IpAdapterValue { kind: 'IPADAPTER'; preset: string }

export type SimValue = ModelValue | ClipValue | VaeValue | ConditioningValue | LatentValue | ImageValue | MaskValue | IpAdapterValue;

function fakeAddress(value: SimValue): string {
  return `0x7f${createHash('sha1').update(JSON.stringify(value)).digest('hex').slice(0, 10)}`;
}

const TENSOR = 'tensor([[[[0.0000, 0.0000, 0.0039],\n          ...,\n          [0.0000, 0.0000, 0.0039]]]])';

/** str() of the object a real node would hold, as it shows up in an execution_error's current_inputs. */
export function describeValue(value: SimValue): string {
  switch (value.kind) {
    case 'MODEL':
      return `<comfy.model_patcher.ModelPatcher object at ${fakeAddress(value)}>`;
    case 'CLIP':
      return `<comfy.sd.CLIP object at ${fakeAddress(value)}>`;
    case 'VAE':
      return `<comfy.sd.VAE object at ${fakeAddress(value)}>`;
    case 'CONDITIONING':
      return `[[tensor([[[-0.3885,  0.0230, -0.0521,  ...,  0.1274]]]), {'pooled_output': tensor([[ 0.0312, ...]])}]]`;
    case 'LATENT':
      return `{'samples': tensor([[[[0., 0., 0.,  ..., 0., 0., 0.]]]])}`;
    case 'IMAGE':
    case 'MASK':
      return TENSOR;
    case 'IPADAPTER':
      return `{'clipvision': {'file': ..., 'model': <comfy.clip_vision.ClipVisionModel object at ${fakeAddress(value)}>}, 'ipadapter': {'file': ..., 'model': {'image_proj': {...}, 'ip_adapter': {...}}}, 'insightface': {'provider': None, 'model': None}}`;
  }
}

export function isSimValue(value: unknown): value is SimValue {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}
