import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';

export interface MultipartForm {
  fields: Record<string, string>;
  files: Record<string, { filename: string; data: Buffer }>;
}

/** aiohttp's request.post() for multipart bodies: text fields and whole file parts in memory. */
export function readMultipart(req: IncomingMessage): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    const form: MultipartForm = { fields: {}, files: {} };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: 100 * 1024 * 1024 } });
    } catch (error) {
      reject(error);
      return;
    }
    parser.on('field', (name, value) => {
      form.fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        form.files[name] = { filename: info.filename ?? '', data: Buffer.concat(chunks) };
      });
    });
    parser.on('error', reject);
    parser.on('close', () => resolve(form));
    req.pipe(parser);
  });
}
