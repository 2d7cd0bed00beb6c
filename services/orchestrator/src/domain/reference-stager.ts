import path from 'node:path';
import { ComfyHttpError, type ComfyClient } from '@anime/comfyui-client';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { sha256Hex, type LibraryStorage } from '@anime/media';
import { recordReferenceFileFound, recordReferenceFileMissing, ReferenceUnavailableError } from '@anime/pipeline';
import type { StagedReference } from './build-workflow';

/** A reference image the job's character version uses (from its recorded conditioning). */
export interface ReferenceToStage {
  /** The reference row (`character_references.id`), as the conditioning records it: marked missing when its file is found gone or altered. */
  id?: string;
  sha256: string;
  kind: string;
  label: string;
  /** Relative to LIBRARY_DIR. */
  path: string;
}

/**
 * Reference images go straight into ComfyUI's `input/` as `anime-ref-<sha256>.<ext>`: files there
 * are the ones LoadImage lists as its choices, so every ComfyUI (and stand-in) accepts the name.
 */
export const REFERENCE_FILE_PREFIX = 'anime-ref-';

const DEFAULT_RECHECK_MS = 10 * 60_000;
/** Confirmed uploads remembered (backend × image); past it the oldest are forgotten and read from PostgreSQL again. */
const MAX_CONFIRMED = 10_000;
/** Library files remembered as verified; past it the oldest are forgotten and hashed again when next used. */
const MAX_VERIFIED = 10_000;

export { ReferenceUnavailableError };

/**
 * Puts reference images into a backend's `input/` folder with `POST /upload/image`, once per
 * backend and image: what each backend answered is kept in `backend_uploads` (PostgreSQL), so a
 * restarted orchestrator does not upload again, and concurrent jobs in this process share one
 * upload. An image found missing from the backend is uploaded again. Files are named by content (`<sha256>.<ext>`) and the name the backend returns is
 * always the one used, as the protocol asks.
 */
export class ReferenceStager {
  private readonly inFlight = new Map<string, Promise<StagedReference>>();
  /**
   * Recorded uploads seen still present on their backend: the name it gave, in which connection
   * session, and when. A confirmed one is used without asking PostgreSQL or the backend again.
   */
  private readonly confirmed = new Map<string, { name: string; subfolder: string; session: number; at: number }>();
  /**
   * Library files whose bytes had the reference's sha256, by path, with their size and modification
   * time then: a job whose image is already on its backend still fails when the library's file is
   * gone or changed, at the cost of one stat, and a changed file is read and hashed again.
   */
  private readonly verified = new Map<string, { sha256: string; bytes: number; modifiedMs: number }>();

  constructor(
    private readonly deps: {
      db: Db;
      storage: LibraryStorage;
      log: Logger;
      /** The backend's connection session (BackendPool.sessionOf): a new one means it may have restarted. */
      sessionOf?: (backend: string) => number;
      /** How long a confirmation holds within one session (default 10 min): files can be cleaned away. */
      recheckAfterMs?: number;
    },
  ) {}

  /** The upload confirmed in the backend's current session, recently enough; else undefined. */
  private stillConfirmed(backend: string, key: string): { name: string; subfolder: string } | undefined {
    const seen = this.confirmed.get(key);
    if (!seen) return undefined;
    const fresh = seen.session === (this.deps.sessionOf?.(backend) ?? 0) && Date.now() - seen.at < (this.deps.recheckAfterMs ?? DEFAULT_RECHECK_MS);
    return fresh ? seen : undefined;
  }

  private confirm(backend: string, key: string, upload: { name: string; subfolder: string }): void {
    this.confirmed.delete(key);
    if (this.confirmed.size >= MAX_CONFIRMED) this.confirmed.delete(this.confirmed.keys().next().value!);
    this.confirmed.set(key, { name: upload.name, subfolder: upload.subfolder, session: this.deps.sessionOf?.(backend) ?? 0, at: Date.now() });
  }

  async stage(backend: string, client: ComfyClient, references: ReferenceToStage[]): Promise<StagedReference[]> {
    return Promise.all(references.map((reference) => this.stageOne(backend, client, reference)));
  }

  private stageOne(backend: string, client: ComfyClient, reference: ReferenceToStage): Promise<StagedReference> {
    const key = `${backend}\n${reference.sha256}`;
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.findOrUpload(backend, client, reference, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async findOrUpload(backend: string, client: ComfyClient, reference: ReferenceToStage, key: string): Promise<StagedReference> {
    // The library's file is the reference: gone or altered, the job fails even if the backend has a copy.
    const libraryBytes = await this.checkLibraryFile(reference);
    // Confirmed in this session: the row it came from names the same upload (only this stager writes it).
    const confirmed = this.stillConfirmed(backend, key);
    if (confirmed) return { sha256: reference.sha256, kind: reference.kind, image: imageName(confirmed.subfolder, confirmed.name) };
    const known = await this.deps.db.backendUpload.findUnique({ where: { backend_sha256: { backend, sha256: reference.sha256 } } });
    if (known && (await this.stillThere(client, known, reference.sha256))) {
      this.confirm(backend, key, known);
      return { sha256: reference.sha256, kind: reference.kind, image: imageName(known.subfolder, known.name) };
    }
    if (known) this.deps.log.warn('reference image gone from backend; uploading it again', { backend, sha256: reference.sha256, name: imageName(known.subfolder, known.name) });

    const bytes = libraryBytes ?? (await this.readVerified(reference));
    const filename = `${REFERENCE_FILE_PREFIX}${reference.sha256}${path.extname(reference.path).toLowerCase() || '.png'}`;
    const answer = await client.uploadImage(bytes, filename);
    const row = { name: answer.name, subfolder: answer.subfolder ?? '' };
    await this.deps.db.backendUpload.upsert({
      where: { backend_sha256: { backend, sha256: reference.sha256 } },
      create: { backend, sha256: reference.sha256, ...row },
      update: row,
    });
    this.confirm(backend, key, row);
    this.deps.log.info('uploaded reference image to backend', { backend, sha256: reference.sha256, label: reference.label, name: imageName(row.subfolder, row.name) });
    return { sha256: reference.sha256, kind: reference.kind, image: imageName(row.subfolder, row.name) };
  }

  /**
   * A recorded upload is checked with `GET /view` (type input) once per connection session of the
   * backend and at least every `recheckAfterMs`: a backend restarted, reinstalled or cleaned under
   * the same URL gets the image again instead of a LoadImage "Invalid image file" error (or, for a
   * LoadImage nothing consumes, an `is_changed` of NaN in its /history).
   */
  private async stillThere(client: ComfyClient, known: { name: string; subfolder: string }, sha256: string): Promise<boolean> {
    try {
      return sha256Hex(await client.view({ filename: known.name, subfolder: known.subfolder, type: 'input' })) === sha256;
    } catch (error) {
      // Missing (404), or a server that cannot show input files: uploading again is always safe.
      if (error instanceof ComfyHttpError) return false;
      throw error;
    }
  }

  /**
   * The library file is there, unchanged since its bytes were last seen to have the reference's
   * sha256; else it is read and checked, and its bytes returned (an upload that follows needs them).
   * Read and found intact, a reference marked missing is cleared (a file put back by hand).
   */
  private async checkLibraryFile(reference: ReferenceToStage): Promise<Buffer | undefined> {
    let now: { bytes: number; modifiedMs: number } | null;
    try {
      now = await this.deps.storage.version(reference.path);
    } catch (error) {
      const message = `reference "${reference.label}" cannot be read from the library (${reference.path}): ${(error as Error).message}`;
      throw isGone(error) ? await this.lost(reference, message) : new ReferenceUnavailableError(message, reference);
    }
    if (!now) throw await this.lost(reference, `reference "${reference.label}" is missing from the library (${reference.path})`);
    const seen = this.verified.get(reference.path);
    if (seen && seen.sha256 === reference.sha256 && seen.bytes === now.bytes && seen.modifiedMs === now.modifiedMs) return undefined;
    const bytes = await this.readVerified(reference);
    // Before it is remembered: a failure here has the next job check (and clear) again.
    if (reference.id) await recordReferenceFileFound(this.deps.db, { id: reference.id, sha256: reference.sha256 });
    // Remembered with the version read before the bytes: a change landing between the two makes the next job hash it again.
    this.verified.delete(reference.path);
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(reference.path, { sha256: reference.sha256, ...now });
    return bytes;
  }

  private async readVerified(reference: ReferenceToStage): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await this.deps.storage.read(reference.path);
    } catch (error) {
      const message = `reference "${reference.label}" cannot be read from the library (${reference.path}): ${(error as Error).message}`;
      // Gone between the stat and the read; any other fault (permissions, I/O) says nothing of the file.
      throw isGone(error) ? await this.lost(reference, message) : new ReferenceUnavailableError(message, reference);
    }
    if (sha256Hex(bytes) !== reference.sha256) {
      this.verified.delete(reference.path);
      throw await this.lost(reference, `reference "${reference.label}" at ${reference.path} no longer has sha256 ${reference.sha256}`);
    }
    return bytes;
  }

  /**
   * The verdict for a file gone or altered, recorded first on the reference's row so the character's
   * detail says it is missing. The job fails with the verdict even if recording does not happen.
   */
  private async lost(reference: ReferenceToStage, message: string): Promise<ReferenceUnavailableError> {
    if (reference.id) {
      const owner = { id: reference.id, sha256: reference.sha256 };
      try {
        // Read again once marked: a re-upload that wrote the file back between the look and the mark
        // found no mark to clear, and one left set stays until another upload or staging.
        if ((await recordReferenceFileMissing(this.deps.db, owner)) && (await this.intact(reference))) await recordReferenceFileFound(this.deps.db, owner);
      } catch (error) {
        this.deps.log.warn('could not record a reference missing', { referenceId: reference.id, error: (error as Error).message });
      }
    }
    return new ReferenceUnavailableError(message, reference);
  }

  /** Whether the library file has the reference's sha256 now (a read failing: no). */
  private intact(reference: ReferenceToStage): Promise<boolean> {
    return this.deps.storage.read(reference.path).then(
      (bytes) => sha256Hex(bytes) === reference.sha256,
      () => false,
    );
  }
}

const isGone = (error: unknown) => ['ENOENT', 'ENOTDIR', 'EISDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

function imageName(subfolder: string, name: string): string {
  return subfolder ? `${subfolder}/${name}` : name;
}
