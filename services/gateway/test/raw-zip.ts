import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';

export interface RawZipEntry {
  /** Written as given: `../x` and `/etc/x` too, which no zip library will write. */
  name: string;
  data?: Buffer;
  /** 0 stores the bytes, 8 deflates them. */
  method?: 0 | 8;
  /** The Unix mode in the external attributes (0o120777 makes a symbolic link). */
  unixMode?: number;
  /** The uncompressed size to claim, when it should lie. */
  declaredSize?: number;
  /** Deflated bytes made elsewhere (see deflatedZeros), written as they are instead of `data`. */
  deflated?: DeflatedData;
}

export interface DeflatedData {
  body: Buffer;
  crc: number;
  size: number;
}

/**
 * `size` zero bytes, raw-deflated without ever holding them: a zip bomb's payload (about 1/1000 of
 * its size) made in 1 MiB steps, so the test process stays small.
 */
export async function deflatedZeros(size: number): Promise<DeflatedData> {
  const step = Buffer.alloc(1024 * 1024);
  const deflate = createDeflateRaw();
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise((resolve) => deflate.on('end', resolve));
  let crc = 0;
  for (let left = size; left > 0; left -= step.length) {
    const part = left >= step.length ? step : step.subarray(0, left);
    crc = crc32(part, crc);
    if (!deflate.write(part)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await ended;
  return { body: Buffer.concat(out), crc, size };
}

const DOS_DATE_1980_01_01 = (1 << 5) | 1;
const UTF8_NAMES = 0x0800;
const MADE_BY_UNIX = (3 << 8) | 20;

/** A zip built byte by byte (local headers, central directory, end record), for hostile archives. */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const data = entry.data ?? Buffer.alloc(0);
    const method = entry.deflated ? 8 : (entry.method ?? 0);
    const body = entry.deflated?.body ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = entry.deflated?.crc ?? crc32(data);
    const size = entry.declaredSize ?? entry.deflated?.size ?? data.length;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, body);

    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(MADE_BY_UNIX, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(UTF8_NAMES, 8);
    header.writeUInt16LE(method, 10);
    header.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(body.length, 20);
    header.writeUInt32LE(size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(((entry.unixMode ?? 0o100644) << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    central.push(header, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}
