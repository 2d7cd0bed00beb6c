import type { ApiPrompt } from '../src';

/** The standard text-to-image graph of the protocol notes (§8.2), small and fast. */
export function textToImage(options: { seed?: number; steps?: number; prefix?: string; positive?: string; ckpt?: string } = {}): ApiPrompt {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: options.ckpt ?? 'anime-v1.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: options.positive ?? 'kai on a rooftop, ink wash', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        model: ['4', 0], seed: options.seed ?? 1, steps: options.steps ?? 5, cfg: 7, sampler_name: 'euler', scheduler: 'normal',
        positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0], denoise: 1,
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: options.prefix ?? 'jobs/test/img' } },
  };
}
