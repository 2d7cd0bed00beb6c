import type { NodeDefinition } from './node-definition';
import type { ClipValue, ModelValue } from './values';

export const checkpointLoaderSimple: NodeDefinition = {
  name: 'CheckpointLoaderSimple',
  displayName: 'Load Checkpoint',
  description: 'Loads a diffusion model checkpoint, diffusion models are used to denoise latents.',
  category: 'loaders',
  outputNode: false,
  inputTypes: (env) => ({ required: { ckpt_name: [[...env.checkpoints], { tooltip: 'The name of the checkpoint (model) to load.' }] } }),
  output: ['MODEL', 'CLIP', 'VAE'],
  outputTooltips: [
    'The model used for denoising latents.',
    'The CLIP model used for encoding text prompts.',
    'The VAE model used for encoding and decoding images to and from latent space.',
  ],
  run: ({ inputs }) => {
    const checkpoint = String(inputs.ckpt_name);
    return { outputs: [{ kind: 'MODEL', checkpoint, loras: [] }, { kind: 'CLIP', checkpoint, loras: [] }, { kind: 'VAE', checkpoint }] };
  },
};

export const loraLoader: NodeDefinition = {
  name: 'LoraLoader',
  displayName: 'Load LoRA',
  description:
    'LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised such as applying styles. Multiple LoRA nodes can be linked together.',
  category: 'loaders',
  outputNode: false,
  inputTypes: (env) => ({
    required: {
      model: ['MODEL', { tooltip: 'The diffusion model the LoRA will be applied to.' }],
      clip: ['CLIP', { tooltip: 'The CLIP model the LoRA will be applied to.' }],
      lora_name: [[...env.loras], { tooltip: 'The name of the LoRA.' }],
      strength_model: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the diffusion model. This value can be negative.' }],
      strength_clip: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01, tooltip: 'How strongly to modify the CLIP model. This value can be negative.' }],
    },
  }),
  output: ['MODEL', 'CLIP'],
  outputTooltips: ['The modified diffusion model.', 'The modified CLIP model.'],
  run: ({ inputs }) => {
    const model = inputs.model as ModelValue;
    const clip = inputs.clip as ClipValue;
    const name = String(inputs.lora_name);
    return {
      outputs: [
        { ...model, loras: [...model.loras, { name, strength: Number(inputs.strength_model) }] },
        { ...clip, loras: [...clip.loras, { name, strength: Number(inputs.strength_clip) }] },
      ],
    };
  },
};
