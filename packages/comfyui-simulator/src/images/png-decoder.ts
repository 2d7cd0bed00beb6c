import { inflateSync } from 'node:zlib';
import { pngChunks } from './png-chunks';

/** A text chunk as PIL's PngImageFile.text holds it: iTXt ones keep their language and translated keyword. */
export interface PngText {
  keyword: string;
  value: string;
  itxt?: { lang: string; tkey: string };
}

export interface DecodedPng {
  width: number;
  height: number;
  /** width * height * 4 bytes: the image as PIL's convert('RGBA') makes it. */
  rgba: Buffer;
  /** tEXt, zTXt and iTXt chunks wherever they stand, a repeated keyword keeping its first place and last value. */
  text: PngText[];
}

/** The eight bytes every PNG starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7: x0, y0, dx, dy of each pass. */
const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
];

export function isPng(bytes: Buffer): boolean {
  return bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes the per-row filters of one (sub)image starting at `offset`: the rows without their filter bytes. */
function unfilter(data: Buffer, offset: number, rowBytes: number, rows: number, pixelBytes: number): Buffer {
  const out = Buffer.alloc(rowBytes * rows);
  for (let y = 0; y < rows; y++) {
    const type = data[offset + y * (rowBytes + 1)];
    if (type === undefined) throw new Error('PNG image data ends early');
    const line = data.subarray(offset + y * (rowBytes + 1) + 1, offset + (y + 1) * (rowBytes + 1));
    if (line.length < rowBytes) throw new Error('PNG image data ends early');
    const at = y * rowBytes;
    for (let x = 0; x < rowBytes; x++) {
      const left = x >= pixelBytes ? out[at + x - pixelBytes] : 0;
      const up = y > 0 ? out[at - rowBytes + x] : 0;
      const upLeft = y > 0 && x >= pixelBytes ? out[at - rowBytes + x - pixelBytes] : 0;
      const raw = line[x];
      if (type === 0) out[at + x] = raw;
      else if (type === 1) out[at + x] = raw + left;
      else if (type === 2) out[at + x] = raw + up;
      else if (type === 3) out[at + x] = raw + ((left + up) >> 1);
      else if (type === 4) out[at + x] = raw + paeth(left, up, upLeft);
      else throw new Error(`PNG row filter ${type} is unknown`);
    }
  }
  return out;
}

/**
 * The most pixels decoded (PIL refuses past twice its 89,478,485-pixel MAX_IMAGE_PIXELS; the simulator,
 * a test server, stops far sooner): 4096², 64 MiB as RGBA. A text chunk inflates to at most 8 MiB.
 */
export const MAX_DECODED_PIXELS = 4096 * 4096;
const MAX_TEXT_BYTES = 8 * 1024 * 1024;

const inflateText = (bytes: Buffer): Buffer => inflateSync(bytes, { maxOutputLength: MAX_TEXT_BYTES });

function readText(type: string, data: Buffer): PngText | undefined {
  const nul = data.indexOf(0);
  const keyword = (nul === -1 ? data : data.subarray(0, nul)).toString('latin1');
  if (!keyword) return undefined;
  const rest = nul === -1 ? Buffer.alloc(0) : data.subarray(nul + 1);
  if (type === 'tEXt') return { keyword, value: rest.toString('latin1') };
  if (type === 'zTXt') return rest.length ? { keyword, value: inflateText(rest.subarray(1)).toString('latin1') } : undefined;
  if (rest.length < 2) return undefined;
  const [compressed, fields] = [rest[0], rest.subarray(2)];
  const langEnd = fields.indexOf(0);
  const tkeyEnd = fields.indexOf(0, langEnd + 1);
  if (langEnd === -1 || tkeyEnd === -1) return undefined;
  const value = compressed ? inflateText(fields.subarray(tkeyEnd + 1)) : fields.subarray(tkeyEnd + 1);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  try {
    return { keyword, value: utf8.decode(value), itxt: { lang: utf8.decode(fields.subarray(0, langEnd)), tkey: utf8.decode(fields.subarray(langEnd + 1, tkeyEnd)) } };
  } catch {
    return undefined;
  }
}

/**
 * A PNG read as PIL reads it and converted to RGBA as Image.convert('RGBA') does: samples of 16 bits
 * keep their high byte (16-bit grey, PIL's I;16, is clipped to 255 instead), 1/2/4-bit grey is scaled
 * to 0..255, a palette takes its tRNS alphas, and a tRNS colour key makes alpha 0 where the converted
 * 8-bit pixel equals the key's raw value (PIL's convert_transparent). Undefined for anything that isn't a PNG.
 */
export function decodePng(bytes: Buffer): DecodedPng | undefined {
  if (!isPng(bytes)) return undefined;
  let header: { width: number; height: number; depth: number; colorType: number; interlace: number } | undefined;
  let palette: Buffer = Buffer.alloc(0);
  let trns: Buffer | undefined;
  const idat: Buffer[] = [];
  const text = new Map<string, PngText>();
  for (const { type, data } of pngChunks(bytes)) {
    if (type === 'IHDR') header = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], colorType: data[9], interlace: data[12] };
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      const entry = readText(type, data);
      if (entry) text.set(entry.keyword, entry);
    }
  }
  if (!header || CHANNELS[header.colorType] === undefined) throw new Error('PNG header is missing or unknown');
  const { width, height, depth, colorType } = header;
  if (!width || !height || width * height > MAX_DECODED_PIXELS) throw new Error(`PNG of ${width} × ${height} pixels: at most ${MAX_DECODED_PIXELS} are decoded`);
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * depth;
  const pixelBytes = Math.max(1, bitsPerPixel >> 3);
  // At most what the rows (each with its filter byte) take, interlaced passes included; more is not read.
  const rawBytes = (Math.ceil((width * bitsPerPixel) / 8) + 1) * height * 2;
  const raw = inflateSync(Buffer.concat(idat), { maxOutputLength: rawBytes });
  const maxSample = 2 ** depth - 1;
  const sample = (row: Buffer, index: number): number => {
    if (depth === 16) return row.readUInt16BE(index * 2);
    if (depth === 8) return row[index];
    const bit = index * depth;
    return (row[bit >> 3] >> (8 - depth - (bit & 7))) & maxSample;
  };
  // The 8-bit value PIL's image holds for a sample: the high byte of 16 bits, grey of 1/2/4 bits scaled.
  const eight = (value: number, isGrey: boolean): number => {
    if (depth === 16) return isGrey ? Math.min(value, 255) : value >> 8;
    if (depth < 8 && isGrey) return Math.round((value * 255) / maxSample);
    return value;
  };
  const key = trns && colorType === 0 && trns.length >= 2 ? [trns.readUInt16BE(0)] : trns && colorType === 2 && trns.length >= 6 ? [trns.readUInt16BE(0), trns.readUInt16BE(2), trns.readUInt16BE(4)] : undefined;

  const rgba = Buffer.alloc(width * height * 4);
  const put = (x: number, y: number, row: Buffer, column: number) => {
    const at = (y * width + x) * 4;
    const s = (c: number) => sample(row, column * channels + c);
    let r: number, g: number, b: number, a = 255;
    if (colorType === 3) {
      const index = s(0);
      [r, g, b] = index * 3 + 2 < palette.length ? [palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]] : [0, 0, 0];
      if (trns && index < trns.length) a = trns[index];
    } else if (colorType === 0 || colorType === 4) {
      r = g = b = eight(s(0), colorType === 0);
      if (colorType === 4) a = eight(s(1), false);
      else if (key && r === key[0]) a = 0;
    } else {
      [r, g, b] = [eight(s(0), false), eight(s(1), false), eight(s(2), false)];
      if (colorType === 6) a = eight(s(3), false);
      else if (key && r === key[0] && g === key[1] && b === key[2]) a = 0;
    }
    rgba[at] = r;
    rgba[at + 1] = g;
    rgba[at + 2] = b;
    rgba[at + 3] = a;
  };

  const passes = header.interlace ? ADAM7 : [[0, 0, 1, 1]];
  let offset = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const columns = Math.ceil((width - x0) / dx);
    const rows = Math.ceil((height - y0) / dy);
    if (columns <= 0 || rows <= 0) continue;
    const rowBytes = Math.ceil((columns * bitsPerPixel) / 8);
    const pixels = unfilter(raw, offset, rowBytes, rows, pixelBytes);
    offset += rows * (rowBytes + 1);
    for (let y = 0; y < rows; y++) {
      const row = pixels.subarray(y * rowBytes, (y + 1) * rowBytes);
      for (let x = 0; x < columns; x++) put(x0 + x * dx, y0 + y * dy, row, x);
    }
  }
  return { width, height, rgba, text: [...text.values()] };
}
