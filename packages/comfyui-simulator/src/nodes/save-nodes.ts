import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSaveImagePath } from '../files/save-image-path';
import { encodePng } from '../images/png-encoder';
import { renderRgb } from '../images/synthetic-pixels';
import { pyJsonDumps } from '../python/py-json-dumps';
import { pyKeys } from '../python/py-json-marks';
import type { SavedImageRef } from '../types';
import type { NodeContext, NodeDefinition, NodeResult } from './node-definition';
import type { ImageValue } from './values';

function saveImages(context: NodeContext, folder: 'output' | 'temp', prefixAppend: string, compressLevel: number): NodeResult {
  const images = context.inputs.images as ImageValue;
  const baseDir = folder === 'output' ? context.env.outputDir : context.env.tempDir;
  const target = getSaveImagePath(String(context.inputs.filename_prefix) + prefixAppend, baseDir, images.width, images.height);
  // Like SaveImage: the API prompt, then one chunk per extra_pnginfo key (the UI puts "workflow" there).
  const text: Array<[string, string]> = [['prompt', pyJsonDumps(context.prompt)]];
  const extraPngInfo = context.extraData.extra_pnginfo;
  if (extraPngInfo && typeof extraPngInfo === 'object') {
    const info = extraPngInfo as Record<string, unknown>;
    for (const key of pyKeys(info)) text.push([key, pyJsonDumps(info[key])]);
  }
  const results: SavedImageRef[] = [];
  let counter = target.counter;
  images.frames.forEach((recipe, batchNumber) => {
    const file = `${target.filename.replace(/%batch_num%/g, String(batchNumber))}_${String(counter).padStart(5, '0')}_.png`;
    const rgb = renderRgb(recipe, images.width, images.height);
    writeFileSync(join(target.fullOutputFolder, file), encodePng({ width: images.width, height: images.height, rgb, text, compressLevel }));
    results.push({ filename: file, subfolder: target.subfolder, type: folder });
    counter += 1;
  });
  return { outputs: [], ui: { images: results } };
}

const HIDDEN = { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' };

export const saveImage: NodeDefinition = {
  name: 'SaveImage',
  displayName: 'Save Image',
  description: 'Saves the input images to your ComfyUI output directory.',
  category: 'image',
  outputNode: true,
  inputTypes: () => ({
    required: {
      images: ['IMAGE', { tooltip: 'The images to save.' }],
      filename_prefix: [
        'STRING',
        {
          default: 'ComfyUI',
          tooltip:
            'The prefix for the file to save. This may include formatting information such as %date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes.',
        },
      ],
    },
    hidden: HIDDEN,
  }),
  output: [],
  run: (context) => saveImages(context, 'output', '', 4),
};

const TEMP_LETTERS = 'abcdefghijklmnopqrstupvxyz';

export const previewImage: NodeDefinition = {
  name: 'PreviewImage',
  displayName: 'Preview Image',
  description: 'Saves the input images to your ComfyUI output directory.',
  category: 'image',
  outputNode: true,
  inputTypes: () => ({ required: { images: ['IMAGE'] }, hidden: HIDDEN }),
  output: [],
  run: (context) => {
    const suffix = Array.from({ length: 5 }, () => TEMP_LETTERS[randomInt(TEMP_LETTERS.length)]).join('');
    return saveImages({ ...context, inputs: { ...context.inputs, filename_prefix: 'ComfyUI' } }, 'temp', `_temp_${suffix}`, 1);
  },
};
