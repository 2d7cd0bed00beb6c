import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { z } from 'zod';
import { findCharacterOr404 } from '@anime/characters';
import type { Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { collectBundleFiles } from '../../domain/bundle/collect-bundle-files';
import { createBundleWorkspace } from '../../domain/bundle/bundle-workspace';
import { importBundle } from '../../domain/bundle/import-bundle';
import { ImportSlots, IMPORT_RETRY_AFTER_S } from '../../domain/bundle/import-slots';
import { readBundle } from '../../domain/bundle/read-bundle';
import { zipFiles } from '../../domain/bundle/zip-files';
import { loadCharacterDetail } from '../../domain/character-resources';
import { ApiError } from '../api-error';
import { attachmentHeader } from '../download-name';
import { slugSchema } from '../character-bodies';
import { parseOr400 } from '../parse-body';
import { saveUpload } from '../read-upload';

const importQuery = z.object({ as: slugSchema.optional() });

export interface CharacterBundleDeps {
  db: Db;
  libraryDir: string;
  /** The largest bundle upload accepted, compressed. */
  bundleMaxBytes: number;
  /** The most bytes a bundle's files may hold together once uncompressed. */
  bundleMaxUncompressedBytes: number;
  /** The most bytes and pixels one reference image may hold, in a bundle as in an upload. */
  referenceMaxBytes: number;
  referenceMaxPixels: number;
  /** The most imports at once; one more is a 429. */
  importConcurrency: number;
}

/** `GET /:idOrSlug/export` and `POST /import`: a character with all its versions and images as one zip. */
export function characterBundleRoutes(deps: CharacterBundleDeps): Router {
  const router = Router();
  const storage = new LocalLibraryStorage(deps.libraryDir);
  const slots = new ImportSlots(deps.importConcurrency);

  router.get('/:idOrSlug/export', async (req, res) => {
    const character = await findCharacterOr404(deps.db, req.params.idOrSlug);
    const bundle = await collectBundleFiles({ db: deps.db, storage }, character);
    res.type('application/zip').setHeader('Content-Disposition', attachmentHeader(`${character.slug}.zip`, 'character.zip'));
    res.setHeader('X-Bundle-Omitted-References', String(bundle.omittedReferences));
    await pipeline(zipFiles(bundle.files), res);
  });

  router.post('/import', async (req, res) => {
    const query = parseOr400(importQuery, req.query, 'query');
    let release: () => void;
    try {
      release = slots.take();
    } catch (error) {
      res.setHeader('Retry-After', String(IMPORT_RETRY_AFTER_S));
      // The body is not wanted; read and drop it so the client gets the 429 rather than a reset.
      req.resume();
      throw error;
    }
    // The upload and every inflated entry live in a workspace on the library's disk, removed whatever happens.
    const workspace = await createBundleWorkspace(deps.libraryDir).catch((error: unknown) => {
      release();
      throw error;
    });
    // Answered only once the workspace is gone, so a client that looks at the library next sees no trace of it.
    let answer: { status: number; location: string; body: unknown; restored: number };
    try {
      const upload = await saveUpload(req, { fileField: 'file', maxFileBytes: deps.bundleMaxBytes, path: workspace.file('upload.zip') });
      if (!upload.file) {
        throw new ApiError(400, 'validation_failed', 'file: required: the bundle zip, as a multipart file part named "file"', [
          { path: 'file', message: 'required: the bundle zip, as a multipart file part named "file"' },
        ]);
      }
      // The whole archive is checked before the first file or row is written.
      const bundle = await readBundle(upload.file.path, workspace, {
        maxUncompressedBytes: deps.bundleMaxUncompressedBytes,
        maxReferenceBytes: deps.referenceMaxBytes,
        maxReferencePixels: deps.referenceMaxPixels,
      });
      const result = await importBundle({ db: deps.db, storage }, bundle, { as: query.as });
      const character = await loadCharacterDetail({ db: deps.db, storage }, result.characterId);
      const changed = result.created || result.versionsAdded.length > 0 || result.referencesAdded > 0;
      answer = {
        status: changed ? 201 : 200,
        location: `/api/v1/characters/${encodeURIComponent(character.slug)}`,
        body: { character, created: result.created, versionsAdded: result.versionsAdded, referencesAdded: result.referencesAdded },
        restored: result.referencesRestored,
      };
    } finally {
      await workspace.dispose();
      release();
    }
    // A header, as the export's omitted count: the body keeps its documented shape.
    res.setHeader('X-Bundle-Restored-References', String(answer.restored));
    res.status(answer.status).location(answer.location).json(answer.body);
  });

  return router;
}
