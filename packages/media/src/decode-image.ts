import sharp from 'sharp';

// Each image is decoded once, on upload: libvips' operation cache would only hold memory after it.
sharp.cache(false);

export interface DecodedImage {
  mime: 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';
  extension: string;
  width: number;
  height: number;
}

/** Why an image was refused: not decodable as a whole (`invalid`), or more pixels than allowed (`too_many_pixels`). */
export class ImageDecodeError extends Error {
  readonly name = 'ImageDecodeError';
  constructor(
    readonly reason: 'invalid' | 'too_many_pixels',
    message: string,
    readonly details?: { width?: number; height?: number; maxPixels: number },
  ) {
    super(message);
  }
}

const FORMATS: Record<string, Pick<DecodedImage, 'mime' | 'extension'>> = {
  png: { mime: 'image/png', extension: 'png' },
  jpeg: { mime: 'image/jpeg', extension: 'jpg' },
  webp: { mime: 'image/webp', extension: 'webp' },
  gif: { mime: 'image/gif', extension: 'gif' },
};

/**
 * Decodes a whole image (a buffer or a file path) without keeping its pixels, so that a truncated
 * or corrupt file, or one whose header declares more than `maxPixels`, is refused before it is
 * stored or sent to a backend. The header is read first and the pixel count checked from it, so a
 * decompression bomb costs a header read; the full decode then streams (sequential read) through one
 * box-filter shrink to a single pixel, which touches every pixel while holding only a few rows where
 * the format allows. Type and size come from the decoder, never from bytes a client chose to put in a header.
 *
 * Some images cannot be streamed (WebP, interlaced PNG, progressive JPEG): libvips holds them whole,
 * up to 8 bytes a pixel, so a 1.5 KB WebP of 40 MP costs about 300 MB while it is decoded. One image
 * is decoded at a time per process (the others wait their turn), so uploads arriving together cost
 * one image's memory, not one per libuv thread.
 */
export function decodeImage(input: Buffer | string, maxPixels: number): Promise<DecodedImage> {
  const turn = decoding.then(() => decodeNow(input, maxPixels));
  decoding = turn.then(
    () => undefined,
    () => undefined,
  );
  return turn;
}

// The decode running now (or settled): the next one starts after it.
let decoding: Promise<void> = Promise.resolve();

async function decodeNow(input: Buffer | string, maxPixels: number): Promise<DecodedImage> {
  // failOn 'error' takes truncation and corrupt data (it implies 'truncated') but not a decoder's mere warning.
  const options = { limitInputPixels: maxPixels, sequentialRead: true, failOn: 'error' as const };
  let metadata: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    metadata = await sharp(input, options).metadata();
  } catch (error) {
    throw refusal(error, maxPixels);
  }
  const format = FORMATS[metadata.format ?? ''];
  if (!format || !metadata.width || !metadata.height) throw new ImageDecodeError('invalid', 'the image is not a PNG, JPEG, WebP or GIF the server can decode', { maxPixels });
  // Animated images count every frame; `pages` is how many the decoder would walk through.
  const pixels = metadata.width * (metadata.pageHeight ?? metadata.height) * (metadata.pages ?? 1);
  if (pixels > maxPixels) {
    throw new ImageDecodeError('too_many_pixels', `the image has ${pixels} pixels, more than the limit of ${maxPixels}`, { width: metadata.width, height: metadata.height, maxPixels });
  }
  try {
    // One pass over every pixel (a box shrink, nothing shrunk on load); stats() made three, and so
    // held the whole image even where the format streams (a 36 MP 16-bit PNG: 290 MB against 37 MB).
    await sharp(input, options).resize(1, 1, { fit: 'fill', fastShrinkOnLoad: false }).raw().toBuffer();
  } catch (error) {
    throw refusal(error, maxPixels);
  }
  return { ...format, width: metadata.width, height: metadata.pageHeight ?? metadata.height };
}

function refusal(error: unknown, maxPixels: number): ImageDecodeError {
  const message = (error as Error).message ?? String(error);
  if (/pixel limit/i.test(message)) return new ImageDecodeError('too_many_pixels', `the image declares more pixels than the limit of ${maxPixels}`, { maxPixels });
  return new ImageDecodeError('invalid', `the image cannot be decoded: ${message.trim().replace(/:$/, '')}`, { maxPixels });
}
