/** A studio's txt2img variant as ComfyUI's "Export (API)" writes it, with a parameter map. */
export function portraitGraph() {
  return {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'anime-v1.safetensors' }, _meta: { title: 'Load Checkpoint' } },
    '2': { class_type: 'CLIPTextEncode', inputs: { text: 'placeholder', clip: ['1', 1] } },
    '3': { class_type: 'CLIPTextEncode', inputs: { text: 'lowres', clip: ['1', 1] } },
    '4': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
    '5': {
      class_type: 'KSampler',
      inputs: { model: ['1', 0], seed: 1, steps: 20, cfg: 7, sampler_name: 'euler', scheduler: 'normal', positive: ['2', 0], negative: ['3', 0], latent_image: ['4', 0], denoise: 1 },
    },
    '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
    '7': { class_type: 'SaveImage', inputs: { images: ['6', 0], filename_prefix: 'ComfyUI' } },
  };
}

export function portraitParams() {
  return {
    prompt: { type: 'string', node: '2', input: 'text' },
    negative: { type: 'string', node: '3', input: 'text' },
    seed: { type: 'int', node: '5', input: 'seed' },
    steps: { type: 'int', node: '5', input: 'steps' },
    width: { type: 'int', node: '4', input: 'width' },
    height: { type: 'int', node: '4', input: 'height' },
    checkpoint: { type: 'string', node: '1', input: 'ckpt_name' },
    loras: { type: 'loras', node: '1' },
    cfg: { type: 'float', node: '5', input: 'cfg', default: 5.5, min: 1, max: 15 },
    sampler_name: { type: 'enum', node: '5', input: 'sampler_name', options: ['euler', 'dpmpp_2m', 'uni_pc'], default: 'euler' },
  };
}
