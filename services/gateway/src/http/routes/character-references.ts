import path from 'node:path';
import { Router } from 'express';
import { attachReference, findCharacterOr404, findLiveCharacterOr404, REFERENCE_IMAGE_MIMES } from '@anime/characters';
import type { Db } from '@anime/db';
import { decodeImage, LocalLibraryStorage, sniffImage, UnsafeLibraryPathError } from '@anime/media';
import { toReferenceResource } from '../../domain/character-resources';
import { findAttachedReferenceOr404 } from '../../domain/find-reference';
import { isReferenceFileLost, noticeLostReferenceFiles, recordLostReferenceFile, recordReferenceFileBack } from '../../domain/lost-reference-files';
import { ApiError } from '../api-error';
import { attachmentHeader } from '../download-name';
import { referenceFieldsSchema } from '../character-bodies';
import { characterParam } from '../character-param';
import { imageRefusal } from '../image-refusal';
import { libraryFileUnreadable } from '../library-file-unreadable';
import { zodDetails } from '../parse-body';
import { readUpload } from '../read-upload';
import { sendLibraryFile } from '../send-library-file';

export function characterReferenceRoutes(deps: { db: Db; libraryDir: string; referenceMaxBytes: number; referenceMaxPixels: number }): Router {
  const router = Router({ mergeParams: true });
  const storage = new LocalLibraryStorage(deps.libraryDir);

  router.get('/', async (req, res) => {
    const character = await findCharacterOr404(deps.db, characterParam(req));
    const references = await deps.db.characterReference.findMany({
      where: { characterId: character.id, detachedAt: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    res.json({ items: (await noticeLostReferenceFiles({ db: deps.db, storage }, references)).map((r) => toReferenceResource(character.slug, r)) });
  });

  router.post('/', async (req, res) => {
    const character = await findLiveCharacterOr404(deps.db, characterParam(req));
    const upload = await readUpload(req, { fileField: 'file', maxFileBytes: deps.referenceMaxBytes });
    const fallbackLabel = upload.file?.filename.replace(/\.[^.]*$/, '') || 'reference';
    const fields = referenceFieldsSchema.safeParse({ label: upload.fields.label ?? fallbackLabel, kind: upload.fields.kind || undefined });
    const details = [
      ...(upload.file ? [] : [{ path: 'file', message: 'required: the image, as a multipart file part named "file"' }]),
      ...(fields.success ? [] : zodDetails(fields.error)),
    ];
    if (!upload.file || !fields.success) {
      throw new ApiError(400, 'validation_failed', `invalid reference: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
    }
    // The type comes from the bytes, never from the file name or the client's content type.
    if (!REFERENCE_IMAGE_MIMES.includes(sniffImage(upload.file.bytes).mime)) {
      throw new ApiError(415, 'unsupported_media_type', 'a reference must be a PNG, JPEG or WebP image (recognised from its bytes)', { accepted: REFERENCE_IMAGE_MIMES });
    }
    // Decoded whole before anything is stored: a truncated file or a decompression bomb never reaches the library or a backend.
    const decoded = await decodeImage(upload.file.bytes, deps.referenceMaxPixels).catch((error: unknown) => {
      throw imageRefusal(error);
    });
    const { reference, created } = await attachReference({ db: deps.db, storage }, character, { bytes: upload.file.bytes, ...fields.data, decoded });
    const resource = toReferenceResource(character.slug, reference);
    res.status(created ? 201 : 200).location(resource.url).json(resource);
  });

  router.get('/:refId/file', async (req, res) => {
    const character = await findCharacterOr404(deps.db, characterParam(req));
    const reference = await findAttachedReferenceOr404(deps.db, character.id, req.params.refId);
    const missing = new ApiError(410, 'reference_file_missing', `the file of reference ${reference.id} is missing from the library`);
    // Marked missing: served only once its file is read back with its sha256 (the mark then cleared).
    if (reference.missing && !(await recordReferenceFileBack({ db: deps.db, storage }, reference))) throw missing;
    // Deleted or altered (another size): recorded, and never served under the sha256 it no longer has.
    const lost = async () => {
      await recordLostReferenceFile({ db: deps.db, storage }, reference);
      return missing;
    };
    if (await isReferenceFileLost(storage, reference)) throw await lost();
    let absolute: string;
    try {
      absolute = storage.locate(reference.path);
    } catch (error) {
      if (error instanceof UnsafeLibraryPathError) throw new ApiError(409, 'reference_path_invalid', 'reference path lies outside the library');
      throw error;
    }
    res.setHeader('ETag', `"${reference.sha256}"`);
    res.setHeader('Content-Disposition', attachmentHeader(`${reference.label}${path.extname(reference.path)}`, `reference-${reference.id}`));
    res.type(reference.mime);
    // Bounded: a file not answering (a hung mount) is LibraryNotAnsweringError, passed on as it is and marking nothing.
    await sendLibraryFile(res, absolute, reference.path).catch(async (error: unknown) => {
      // Gone since the look above (or a folder, or a file where one of its folders goes): lost.
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw await lost();
      // A file it may not read says nothing of the image: not marked missing.
      throw libraryFileUnreadable(error, `the file of reference ${reference.id}`) ?? error;
    });
  });

  // Detaching, not deleting: versions and assets made with the reference still point at its file.
  router.delete('/:refId', async (req, res) => {
    const character = await findLiveCharacterOr404(deps.db, characterParam(req));
    const reference = await findAttachedReferenceOr404(deps.db, character.id, req.params.refId);
    await deps.db.characterReference.updateMany({ where: { id: reference.id, detachedAt: null }, data: { detachedAt: new Date() } });
    res.status(204).end();
  });

  return router;
}
