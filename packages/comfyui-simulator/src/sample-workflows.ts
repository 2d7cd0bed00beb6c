import type { ApiPrompt } from './types';

// Small API-format prompts for trying the simulator (or a real ComfyUI) and for tests.

/** The standard text-to-image graph of the protocol notes (§8.2), with knobs for tests. */
export function textToImage(options: { seed?: number; steps?: number; prefix?: string; positive?: string; width?: number; height?: number; batch?: number; ckpt?: string } = {}): ApiPrompt {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: options.ckpt ?? 'anime-v1.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: options.positive ?? 'a lighthouse at dusk, oil painting', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry, watermark', clip: ['4', 1] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: options.width ?? 64, height: options.height ?? 48, batch_size: options.batch ?? 1 } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        model: ['4', 0], seed: options.seed ?? 42, steps: options.steps ?? 4, cfg: 6.5, sampler_name: 'euler', scheduler: 'normal',
        positive: ['6', 0], negative: ['7', 0], latent_image: ['5', 0], denoise: 1.0,
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: options.prefix ?? 'jobs/job-0001/img' } },
  };
}

export function emptyImageProbe(prefix = 'probe', color = 0): ApiPrompt {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}
