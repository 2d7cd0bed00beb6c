import type { NodeDefinition } from './node-definition';
import type { ImageValue, IpAdapterValue, ModelValue } from './values';

/** Where ComfyUI_IPAdapter_plus classes say they come from in /object_info. */
const IPADAPTER_PLUS_MODULE = 'custom_nodes.ComfyUI_IPAdapter_plus';

export const IPADAPTER_PRESETS = [
  'LIGHT - SD1.5 only (low strength)',
  'STANDARD (medium strength)',
  'VIT-G (medium strength)',
  'PLUS (high strength)',
  'PLUS FACE (portraits)',
  'FULL FACE - SD1.5 only (portraits stronger)',
];

export const IPADAPTER_WEIGHT_TYPES = ['standard', 'prompt is more important', 'style transfer'];

/** IPAdapterUnifiedLoader: picks the IPAdapter and CLIP Vision models of a preset; the model passes through. */
export const ipAdapterUnifiedLoader: NodeDefinition = {
  name: 'IPAdapterUnifiedLoader',
  displayName: 'IPAdapter Unified Loader',
  description: '',
  category: 'ipadapter',
  pythonModule: IPADAPTER_PLUS_MODULE,
  outputNode: false,
  inputTypes: () => ({
    required: { model: ['MODEL'], preset: [[...IPADAPTER_PRESETS]] },
    optional: { ipadapter: ['IPADAPTER'] },
  }),
  output: ['MODEL', 'IPADAPTER'],
  outputNames: ['model', 'ipadapter'],
  run: ({ inputs }) => {
    const pipeline: IpAdapterValue = { kind: 'IPADAPTER', preset: String(inputs.preset) };
    return { outputs: [inputs.model as ModelValue, pipeline] };
  },
};

/** IPAdapter (IPAdapterSimple): steers the model with a reference image, recorded on the model like LoraLoader's loras. */
export const ipAdapter: NodeDefinition = {
  name: 'IPAdapter',
  displayName: 'IPAdapter',
  description: '',
  category: 'ipadapter',
  pythonModule: IPADAPTER_PLUS_MODULE,
  outputNode: false,
  inputTypes: () => ({
    required: {
      model: ['MODEL'],
      ipadapter: ['IPADAPTER'],
      image: ['IMAGE'],
      weight: ['FLOAT', { default: 1.0, min: -1, max: 3, step: 0.05 }],
      start_at: ['FLOAT', { default: 0.0, min: 0.0, max: 1.0, step: 0.001 }],
      end_at: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.001 }],
      weight_type: [[...IPADAPTER_WEIGHT_TYPES]],
    },
    optional: { attn_mask: ['MASK'] },
  }),
  output: ['MODEL'],
  run: ({ inputs }) => {
    const model = inputs.model as ModelValue;
    const applied = {
      preset: (inputs.ipadapter as IpAdapterValue).preset,
      weight: Number(inputs.weight),
      weightType: String(inputs.weight_type),
      startAt: Number(inputs.start_at),
      endAt: Number(inputs.end_at),
      image: inputs.image as ImageValue,
    };
    return { outputs: [{ ...model, ipadapters: [...(model.ipadapters ?? []), applied] }] };
  },
};
