import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ApiError } from '../../http/api-error';

/** What an export's row records of the image it streams: the file must hold exactly these bytes. */
export interface ExpectedFile {
  referenceId: string;
  sha256: string;
  size: number;
}

type Lost = 'gone' | 'altered' | 'unreadable';

/**
 * `source` (a library file being read), checked as it streams against the size and sha256 recorded:
 * more bytes than recorded fail at once, and the last chunk is held back until the end shows the
 * size and hash to be the recorded ones, so a file changed since it was checked never passes whole.
 * A failed read fails it too (gone, a folder there, unreadable). The failure is the export's
 * 409 `bundle_incomplete`, for a caller that can still answer; `source` is destroyed with it.
 */
export function verifiedFileStream(source: Readable, expected: ExpectedFile): Transform {
  const hash = createHash('sha256');
  let seen = 0;
  let held: Buffer | null = null;
  const verify = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > expected.size) return done(changedWhileStreaming(expected, 'altered', `it holds more than the ${expected.size} bytes recorded`));
      hash.update(chunk);
      if (held) this.push(held);
      held = chunk;
      done();
    },
    flush(done) {
      if (seen !== expected.size) return done(changedWhileStreaming(expected, 'altered', `it holds ${seen} bytes, not the ${expected.size} recorded`));
      if (hash.digest('hex') !== expected.sha256) return done(changedWhileStreaming(expected, 'altered', `its bytes no longer have sha256 ${expected.sha256}`));
      if (held) this.push(held);
      done();
    },
  });
  source.on('error', (error: NodeJS.ErrnoException) => verify.destroy(changedWhileStreaming(expected, readLoss(error), `reading it failed: ${error.message}`)));
  // Whatever ends the check (a mismatch, the zip's consumer gone), the file is closed with it.
  verify.on('close', () => source.destroy());
  source.pipe(verify);
  return verify;
}

function readLoss(error: NodeJS.ErrnoException): Lost {
  // ENOTDIR: a file where a folder of its path goes. EISDIR: a folder where the file goes.
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return 'gone';
  if (error.code === 'EISDIR') return 'altered';
  return 'unreadable';
}

function changedWhileStreaming(expected: ExpectedFile, reason: Lost, why: string): ApiError {
  return new ApiError(409, 'bundle_incomplete', `the library file of reference ${expected.referenceId} changed while its bundle streamed: ${why}`, {
    referenceId: expected.referenceId,
    references: [{ id: expected.referenceId, sha256: expected.sha256, reason }],
  });
}
