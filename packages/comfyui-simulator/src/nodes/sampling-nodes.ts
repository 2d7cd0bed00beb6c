import { setTimeout as sleep } from 'node:timers/promises';
import { containsMarker, simulatedFailure } from '../execution/simulated-failures';
import type { NodeDefinition } from './node-definition';
import { MAX_RESOLUTION, SAMPLER_NAMES, SCHEDULER_NAMES } from './sampler-options';
import type { ConditioningValue, LatentValue, ModelValue } from './values';

export const clipTextEncode: NodeDefinition = {
  name: 'CLIPTextEncode',
  displayName: 'CLIP Text Encode (Prompt)',
  description:
    'Encodes a text prompt using a CLIP model into an embedding that can be used to guide the diffusion model towards generating specific images.',
  category: 'conditioning',
  outputNode: false,
  inputTypes: () => ({
    required: {
      text: ['STRING', { multiline: true, dynamicPrompts: true, tooltip: 'The text to be encoded.' }],
      clip: ['CLIP', { tooltip: 'The CLIP model used for encoding the text.' }],
    },
  }),
  output: ['CONDITIONING'],
  outputTooltips: ['A conditioning containing the embedded text used to guide the diffusion model.'],
  run: ({ inputs, prompt }) => {
    // With no sampler to carry it, the marker fails right here instead.
    const hasSampler = Object.values(prompt).some((node: any) => node?.class_type === 'KSampler');
    if (containsMarker(inputs.text) && !hasSampler) throw simulatedFailure();
    return { outputs: [{ kind: 'CONDITIONING', text: String(inputs.text), clip: inputs.clip }] };
  },
};

export const emptyLatentImage: NodeDefinition = {
  name: 'EmptyLatentImage',
  displayName: 'Empty Latent Image',
  description: 'Create a new batch of empty latent images to be denoised via sampling.',
  category: 'latent',
  outputNode: false,
  inputTypes: () => ({
    required: {
      width: ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The width of the latent images in pixels.' }],
      height: ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8, tooltip: 'The height of the latent images in pixels.' }],
      batch_size: ['INT', { default: 1, min: 1, max: 4096, tooltip: 'The number of latent images in the batch.' }],
    },
  }),
  output: ['LATENT'],
  outputTooltips: ['The empty latent image batch.'],
  run: ({ inputs }) => ({
    outputs: [{ kind: 'LATENT', width: Number(inputs.width), height: Number(inputs.height), batchSize: Number(inputs.batch_size) }],
  }),
};

export const kSampler: NodeDefinition = {
  name: 'KSampler',
  displayName: 'KSampler',
  description: 'Uses the provided model, positive and negative conditioning to denoise the latent image.',
  category: 'sampling',
  outputNode: false,
  inputTypes: () => ({
    required: {
      model: ['MODEL', { tooltip: 'The model used for denoising the input latent.' }],
      seed: ['INT', { default: 0, min: 0, max: 0xffffffffffffffff, control_after_generate: true, tooltip: 'The random seed used for creating the noise.' }],
      steps: ['INT', { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' }],
      cfg: ['FLOAT', { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01, tooltip: 'The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values result in images more closely matching the prompt however too high values will negatively impact quality.' }],
      sampler_name: [[...SAMPLER_NAMES], { tooltip: 'The algorithm used when sampling, this can affect the quality, speed, and style of the generated output.' }],
      scheduler: [[...SCHEDULER_NAMES], { tooltip: 'The scheduler controls how noise is gradually removed to form the image.' }],
      positive: ['CONDITIONING', { tooltip: 'The conditioning describing the attributes you want to include in the image.' }],
      negative: ['CONDITIONING', { tooltip: 'The conditioning describing the attributes you want to exclude from the image.' }],
      latent_image: ['LATENT', { tooltip: 'The latent image to denoise.' }],
      denoise: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.' }],
    },
  }),
  output: ['LATENT'],
  outputTooltips: ['The denoised latent.'],
  run: async ({ inputs, env, progress, checkInterrupted }) => {
    const model = inputs.model as ModelValue;
    const positive = inputs.positive as ConditioningValue;
    const negative = inputs.negative as ConditioningValue;
    const latent = inputs.latent_image as LatentValue;
    if (containsMarker(positive.text) || containsMarker(negative.text)) throw simulatedFailure();
    const steps = Number(inputs.steps);
    for (let step = 1; step <= steps; step++) {
      checkInterrupted();
      // A step is never cut short: real ComfyUI checks the flag only in the progress hook after each step
      // (main.hijack_progress), before it sends that step's progress, so an interrupt lands at a step's end.
      await sleep(env.stepMs);
      checkInterrupted();
      progress(step, steps);
    }
    const seedMaterial = JSON.stringify([
      model.checkpoint, model.loras, positive.clip.loras, inputs.seed, steps, inputs.cfg, inputs.sampler_name,
      inputs.scheduler, positive.text, negative.text, inputs.denoise, latent.seedMaterial ?? null,
      // Only models an IPAdapter touched add to the material, so plain prompts keep the pixels they always had.
      ...(model.ipadapters ? [model.ipadapters] : []),
    ]);
    return { outputs: [{ ...latent, seedMaterial }] };
  },
};
