import busboy from 'busboy';
import type { Request } from 'express';
import { ApiError } from './api-error';

export interface Upload {
  fields: Record<string, string>;
  file: { bytes: Buffer; filename: string } | null;
}

export interface ReadUploadOptions {
  fileField: string;
  maxFileBytes: number;
}

/**
 * Reads a multipart/form-data body holding one file into memory, at most `maxFileBytes` of it.
 * Past the limit the rest is read and dropped rather than the connection cut, so the client
 * still gets its 413 instead of a reset; nothing is kept, so nothing can be written.
 */
export function readUpload(req: Request, options: ReadUploadOptions): Promise<Upload> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      // busboy reports the limit once a file reaches it; one byte more lets a file of exactly the limit through.
      limits: { fileSize: options.maxFileBytes + 1, files: 1, fields: 20, parts: 30, fieldSize: 64 * 1024 },
    });
  } catch {
    return Promise.reject(new ApiError(415, 'unsupported_media_type', `send multipart/form-data with the image in a "${options.fileField}" part`));
  }

  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let filename: string | null = null;
    let refusal: ApiError | null = null;
    const refuse = (error: ApiError) => {
      refusal ??= error;
      chunks.length = 0;
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) refuse(new ApiError(400, 'validation_failed', `field "${name}" is too long`, [{ path: name, message: 'too long' }]));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      // A broken form destroys the part with the error the parser also emits; that one is handled.
      stream.on('error', () => undefined);
      if (name !== options.fileField || filename !== null) {
        stream.resume();
        return;
      }
      filename = info.filename ?? '';
      stream.on('data', (chunk: Buffer) => {
        if (!refusal) chunks.push(chunk);
      });
      stream.on('limit', () =>
        refuse(new ApiError(413, 'payload_too_large', `the file is larger than the limit of ${options.maxFileBytes} bytes`, { maxBytes: options.maxFileBytes })),
      );
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
      resolve({ fields, file: filename === null ? null : { bytes: Buffer.concat(chunks), filename } });
    });
    req.on('close', () => {
      // The client went away mid-upload: nothing more will come, so settle instead of waiting forever.
      if (!req.complete) reject(new ApiError(400, 'upload_aborted', 'the upload ended before the body was complete'));
    });
    req.pipe(parser);
  });
}
