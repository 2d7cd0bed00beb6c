import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readPngSize } from '../images/png-encoder';
import { isInside, splitAnnotation } from '../files/safe-paths';
import { pyStr } from '../python/py-format';
import type { NodeDefinition, NodeEnvironment } from './node-definition';
import { MAX_RESOLUTION } from './sampler-options';
import type { ImageValue, LatentValue, VaeValue } from './values';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp', '.tiff', '.tif']);

/** LoadImage's dropdown: image files directly in input/, sorted, as ComfyUI lists them. */
export function listInputImages(inputDir: string): string[] {
  if (!existsSync(inputDir)) return [];
  return readdirSync(inputDir)
    .filter((name) => IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) && statSync(join(inputDir, name)).isFile())
    .sort();
}

/** The file a LoadImage value names (annotated "x.png [output]" or "sub/x.png"), if it stays in its folder. */
function imagePath(image: unknown, env: NodeEnvironment): string | undefined {
  const { name, type } = splitAnnotation(String(image));
  const base = type === 'output' ? env.outputDir : type === 'temp' ? env.tempDir : env.inputDir;
  const path = join(base, name);
  return isInside(base, path) ? path : undefined;
}

export const vaeDecode: NodeDefinition = {
  name: 'VAEDecode',
  displayName: 'VAE Decode',
  description: 'Decodes latent images back into pixel space images.',
  category: 'latent',
  outputNode: false,
  inputTypes: () => ({
    required: {
      samples: ['LATENT', { tooltip: 'The latent to be decoded.' }],
      vae: ['VAE', { tooltip: 'The VAE model used for decoding the latent.' }],
    },
  }),
  output: ['IMAGE'],
  outputTooltips: ['The decoded image.'],
  run: ({ inputs }) => {
    const latent = inputs.samples as LatentValue;
    const vae = inputs.vae as VaeValue;
    // Latents are 1/8 of the image size, so odd sizes come back rounded down to a multiple of 8.
    const image: ImageValue = {
      kind: 'IMAGE',
      width: Math.max(8, Math.floor(latent.width / 8) * 8),
      height: Math.max(8, Math.floor(latent.height / 8) * 8),
      frames: Array.from({ length: latent.batchSize }, (_, index) =>
        latent.seedMaterial ? { kind: 'pattern', seed: `${latent.seedMaterial}#${index}#${vae.checkpoint}` } : { kind: 'solid', rgb: [128, 128, 128] },
      ),
    };
    return { outputs: [image] };
  },
};

export const emptyImage: NodeDefinition = {
  name: 'EmptyImage',
  displayName: 'EmptyImage',
  description: '',
  category: 'image',
  outputNode: false,
  inputTypes: () => ({
    required: {
      width: ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
      height: ['INT', { default: 512, min: 1, max: MAX_RESOLUTION, step: 1 }],
      batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
      color: ['INT', { default: 0, min: 0, max: 0xffffff, step: 1, display: 'color' }],
    },
  }),
  output: ['IMAGE'],
  run: ({ inputs }) => {
    const color = Number(inputs.color);
    const rgb: [number, number, number] = [(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff];
    const image: ImageValue = {
      kind: 'IMAGE',
      width: Number(inputs.width),
      height: Number(inputs.height),
      frames: Array.from({ length: Number(inputs.batch_size) }, () => ({ kind: 'solid', rgb })),
    };
    return { outputs: [image] };
  },
};

export const loadImage: NodeDefinition = {
  name: 'LoadImage',
  displayName: 'Load Image',
  description: '',
  category: 'image',
  outputNode: false,
  inputTypes: (env) => ({ required: { image: [listInputImages(env.inputDir), { image_upload: true }] } }),
  output: ['IMAGE', 'MASK'],
  customValidation: {
    inputs: ['image'],
    validate: (inputs, env) => {
      const path = imagePath(inputs.image, env);
      return path && existsSync(path) ? true : `Invalid image file: ${pyStr(inputs.image)}`;
    },
  },
  isChanged: (inputs, env) => {
    const path = imagePath(inputs.image, env);
    return path && existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
  },
  run: ({ inputs, env }) => {
    const bytes = readFileSync(imagePath(inputs.image, env)!);
    const size = readPngSize(bytes) ?? { width: 512, height: 512 };
    const seed = createHash('sha256').update(bytes).digest('hex');
    return {
      outputs: [
        { kind: 'IMAGE', ...size, frames: [{ kind: 'pattern', seed }] },
        { kind: 'MASK', ...size },
      ],
    };
  },
};
