import { createHash } from 'node:crypto';
import type { PixelRecipe } from '../nodes/values';

function prng(seed: string): () => number {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Pixels for one image. A pattern is a gradient with a few discs, all drawn from the seed, so that
 * different seeds or prompts give different files while the PNG still compresses like a picture.
 */
export function renderRgb(recipe: PixelRecipe, width: number, height: number): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  if (recipe.kind === 'solid') {
    for (let i = 0; i < width * height; i++) rgb.set(recipe.rgb, i * 3);
    return rgb;
  }
  const random = prng(recipe.seed);
  const colour = () => [random() * 255, random() * 255, random() * 255];
  const [top, bottom] = [colour(), colour()];
  const discs = Array.from({ length: 6 }, () => ({
    x: random() * width,
    y: random() * height,
    r2: (random() * 0.25 * Math.min(width, height) + 2) ** 2,
    c: colour(),
  }));
  // Row by row, without an allocation per pixel (the bench's simulators render thousands of these):
  // the row's gradient colour, overdrawn by the last disc that covers the pixel.
  const last = discs.length - 1;
  const dy2 = new Float64Array(discs.length);
  for (let y = 0; y < height; y++) {
    const t = height > 1 ? y / (height - 1) : 0;
    const row = [0, 1, 2].map((i) => top[i] + (bottom[i] - top[i]) * t);
    for (let d = 0; d <= last; d++) dy2[d] = (y - discs[d].y) ** 2;
    let offset = y * width * 3;
    for (let x = 0; x < width; x++, offset += 3) {
      let pixel = row;
      for (let d = last; d >= 0; d--) {
        const disc = discs[d];
        if ((x - disc.x) ** 2 + dy2[d] <= disc.r2) {
          pixel = disc.c;
          break;
        }
      }
      rgb[offset] = pixel[0];
      rgb[offset + 1] = pixel[1];
      rgb[offset + 2] = pixel[2];
    }
  }
  return rgb;
}
