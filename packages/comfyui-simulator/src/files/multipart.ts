import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';

export interface MultipartFile {
  filename: string;
  data: Buffer;
}

/**
 * A part's value as aiohttp's request.post() gives it: a FileField for a part with a non-empty
 * filename; otherwise the part's content, as str when its Content-Type is absent or text/*, else as
 * bytes (a Buffer here).
 */
export type MultipartValue = string | Buffer | MultipartFile;

export interface MultipartForm {
  /** post.get(name): the first part of that name, whichever kind it is. */
  get(name: string): MultipartValue | undefined;
}

export function isFile(value: MultipartValue | undefined): value is MultipartFile {
  return typeof value === 'object' && !Buffer.isBuffer(value);
}

/** aiohttp's request.post() for multipart (and urlencoded) bodies: every part in memory, the first of each name kept. */
export function readMultipart(req: IncomingMessage): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    const parts = new Map<string, MultipartValue>();
    const keep = (name: string, value: MultipartValue) => {
      if (!parts.has(name)) parts.set(name, value);
    };
    let parser: busboy.Busboy;
    try {
      // preservePath: aiohttp keeps the filename as sent ("sub/x.png"), where busboy would cut it to its basename.
      parser = busboy({ headers: req.headers, preservePath: true, limits: { fileSize: 100 * 1024 * 1024 } });
    } catch (error) {
      reject(error);
      return;
    }
    // busboy says text/plain for a part that names no Content-Type, which aiohttp also reads as str.
    parser.on('field', (name, value, info) => keep(name, info.mimeType.startsWith('text/') ? value : Buffer.from(value)));
    // busboy also takes an application/octet-stream part without a filename for a file; aiohttp, for bytes.
    parser.on('file', (name, stream, info) => {
      const file: MultipartFile = { filename: info.filename ?? '', data: Buffer.alloc(0) };
      keep(name, file);
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        file.data = Buffer.concat(chunks);
        if (!file.filename && parts.get(name) === file) parts.set(name, file.data);
      });
    });
    parser.on('error', reject);
    parser.on('close', () => resolve({ get: (name) => parts.get(name) }));
    req.pipe(parser);
  });
}
