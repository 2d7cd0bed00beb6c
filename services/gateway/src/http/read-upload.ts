import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import { ApiError } from './api-error';
import { bodyEncoding } from './body-encoding';

export interface Upload<F = { bytes: Buffer; filename: string }> {
  fields: Record<string, string>;
  file: F | null;
}

export interface ReadUploadOptions {
  fileField: string;
  maxFileBytes: number;
}

/** A file part written to disk by saveUpload: where, how many bytes, and the client's name for it. */
export interface SavedFile {
  path: string;
  bytes: number;
  filename: string;
}

/**
 * Reads a multipart/form-data body holding one file into memory, at most `maxFileBytes` of it.
 * Past the limit the rest is read and dropped rather than the connection cut, so the client
 * still gets its 413 instead of a reset; nothing is kept, so nothing can be written.
 */
export function readUpload(req: Request, options: ReadUploadOptions): Promise<Upload> {
  return receiveUpload(req, options, async (stream, filename, refused) => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) if (!refused()) chunks.push(chunk as Buffer);
    return { bytes: refused() ? Buffer.alloc(0) : Buffer.concat(chunks), filename };
  });
}

/**
 * As readUpload, but the file part streams to `path` (which the caller owns and removes, also on
 * failure): an archive is never held in memory. Past `maxFileBytes` the rest is read and dropped.
 */
export function saveUpload(req: Request, options: ReadUploadOptions & { path: string }): Promise<Upload<SavedFile>> {
  return receiveUpload(req, options, async (stream, filename) => {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    await writeOrDrain(stream, options.path);
    return { path: options.path, bytes, filename };
  });
}

/**
 * Writes the file part to `path`. A write refused (the library volume full, read-only) rejects at
 * once, and the rest of the part is read and dropped: busboy reads the body on only while its file
 * part is read, so the part destroyed by a pipeline left the parser waiting for ever, and the
 * request with it (no answer, its import slot and workspace held until the client gave up).
 */
function writeOrDrain(stream: Readable, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx' });
    out.on('error', (error) => {
      stream.unpipe(out);
      stream.resume();
      reject(error);
    });
    // Settled once the file is closed (what a pipeline waited for); after an error it rejected already.
    out.on('close', () => resolve());
    // The part cut (a broken form, the client gone): the file is closed, not left open waiting for bytes.
    const cut = (error: Error) => {
      out.destroy();
      reject(error);
    };
    stream.on('error', cut);
    stream.on('close', () => {
      if (!stream.readableEnded) cut(new Error('the file part ended before its end'));
    });
    stream.pipe(out);
  });
}

type FileReader<F> = (stream: Readable, filename: string, refused: () => boolean) => Promise<F>;

function receiveUpload<F>(req: Request, options: ReadUploadOptions, readFile: FileReader<F>): Promise<Upload<F>> {
  const wrongType = new ApiError(415, 'unsupported_media_type', `send multipart/form-data with the file in a "${options.fileField}" part`, { accepted: ['multipart/form-data'] });
  // busboy also reads an urlencoded form, which can hold no file: its fields were checked as if they
  // came with one (a bogus charset answered 'field "undefined"'). `false`, not null: a body is there.
  if (req.is('multipart/form-data') === false) return Promise.reject(wrongType);
  // busboy reads the bytes as sent: a compressed form failed as "Unexpected end of form".
  const encoding = bodyEncoding(req);
  if (encoding !== 'identity') {
    return Promise.reject(new ApiError(415, 'unsupported_media_type', `an upload is read as sent: Content-Encoding "${encoding}" is not supported`, { accepted: ['identity'] }));
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // Browsers and Node's FormData send a file name as raw UTF-8 bytes in `filename="…"`;
      // busboy's default (latin1) turned `日本.png` into mojibake. `filename*=` still names its own charset.
      defParamCharset: 'utf8',
      // busboy reports the limit once a file reaches it; one byte more lets a file of exactly the limit through.
      limits: { fileSize: options.maxFileBytes + 1, files: 1, fields: 20, parts: 30, fieldSize: 64 * 1024 },
    });
  } catch {
    return Promise.reject(wrongType);
  }

  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Promise<F> | null = null;
    let refusal: ApiError | null = null;
    const refuse = (error: ApiError) => {
      refusal ??= error;
    };

    parser.on('field', (name: string | undefined, value: string | undefined, info) => {
      // A part without a name in its Content-Disposition: no field of the form, dropped as a nameless file part is.
      if (typeof name !== 'string') return;
      // A charset no decoder is known for (`charset=x-bogus`): busboy hands no text at all. Read on, it
      // threw in the parser's write, an uncaught exception that stopped the gateway.
      if (typeof value !== 'string') {
        refuse(new ApiError(400, 'validation_failed', `field "${name}" names a charset that cannot be read`, [{ path: name, message: 'names a charset that cannot be read' }]));
        return;
      }
      if (info.valueTruncated) refuse(new ApiError(400, 'validation_failed', `field "${name}" is too long`, [{ path: name, message: 'too long' }]));
      // busboy decodes a field by the charset its part names (.NET and Java clients name one), else as
      // UTF-8, a byte that is not UTF-8 becoming U+FFFD: refused as in a JSON body, rather than stored
      // with U+FFFD where the client sent other bytes (a U+FFFD it sent as such is refused with them).
      // Read as latin1 bytes instead, a part naming utf-8 or latin1 that held "café" was refused: busboy
      // tells a field's text, not the charset it was read in.
      if (value.includes('\uFFFD')) refuse(new ApiError(400, 'validation_failed', `field "${name}" is not valid UTF-8`, [{ path: name, message: 'is not valid UTF-8' }]));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // A broken form destroys the part with the error the parser also emits; that one is handled.
      stream.on('error', () => undefined);
      if (name !== options.fileField || file !== null) {
        stream.resume();
        return;
      }
      stream.on('limit', () =>
        refuse(new ApiError(413, 'payload_too_large', `the file is larger than the limit of ${options.maxFileBytes} bytes`, { maxBytes: options.maxFileBytes })),
      );
      file = readFile(stream, info.filename ?? '', () => refusal !== null);
      // Settled at 'close'; until then a failure must not count as unhandled.
      file.catch(() => undefined);
    });
    const tooMany = (what: string) => () => refuse(new ApiError(400, 'validation_failed', `too many ${what} in the form`, [{ path: '(body)', message: `too many ${what}` }]));
    parser.on('filesLimit', tooMany('files'));
    parser.on('fieldsLimit', tooMany('fields'));
    parser.on('partsLimit', tooMany('parts'));
    parser.on('error', (error: Error) => {
      req.unpipe(parser);
      req.resume();
      reject(new ApiError(400, 'invalid_multipart', `the multipart body could not be read: ${error.message}`));
    });
    parser.on('close', () => {
      if (refusal) return reject(refusal);
      if (!file) return resolve({ fields, file: null });
      file.then((saved) => (refusal ? reject(refusal) : resolve({ fields, file: saved })), reject);
    });
    req.on('close', () => {
      // The client went away mid-upload: nothing more will come, so settle instead of waiting forever.
      if (req.complete) return;
      reject(new ApiError(400, 'upload_aborted', 'the upload ended before the body was complete'));
      // Ends the file part too, so a file being written is closed rather than left waiting for bytes.
      parser.destroy();
    });
    req.pipe(parser);
  });
}
