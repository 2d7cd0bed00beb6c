import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { z } from 'zod';
import { findCharacterOr404 } from '@anime/characters';
import type { Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { collectBundleFiles } from '../../domain/bundle/collect-bundle-files';
import { importBundle } from '../../domain/bundle/import-bundle';
import { parseBundle } from '../../domain/bundle/parse-bundle';
import { readZipEntries } from '../../domain/bundle/read-zip-entries';
import { zipFiles } from '../../domain/bundle/zip-files';
import { loadCharacterDetail } from '../../domain/character-resources';
import { ApiError } from '../api-error';
import { attachmentHeader } from '../download-name';
import { slugSchema } from '../character-bodies';
import { parseOr400 } from '../parse-body';
import { readUpload } from '../read-upload';

const importQuery = z.object({ as: slugSchema.optional() });

export interface CharacterBundleDeps {
  db: Db;
  libraryDir: string;
  /** The largest bundle upload accepted, compressed. */
  bundleMaxBytes: number;
  /** The most bytes a bundle's files may hold together once uncompressed. */
  bundleMaxUncompressedBytes: number;
}

/** `GET /:idOrSlug/export` and `POST /import`: a character with all its versions and images as one zip. */
export function characterBundleRoutes(deps: CharacterBundleDeps): Router {
  const router = Router();
  const storage = new LocalLibraryStorage(deps.libraryDir);

  router.get('/:idOrSlug/export', async (req, res) => {
    const character = await findCharacterOr404(deps.db, req.params.idOrSlug);
    const bundle = await collectBundleFiles({ db: deps.db, storage }, character);
    res.type('application/zip').setHeader('Content-Disposition', attachmentHeader(`${character.slug}.zip`, 'character.zip'));
    res.setHeader('X-Bundle-Omitted-References', String(bundle.omittedReferences));
    await pipeline(zipFiles(bundle.files), res);
  });

  router.post('/import', async (req, res) => {
    const query = parseOr400(importQuery, req.query, 'query');
    const upload = await readUpload(req, { fileField: 'file', maxFileBytes: deps.bundleMaxBytes });
    if (!upload.file) {
      throw new ApiError(400, 'validation_failed', 'file: required: the bundle zip, as a multipart file part named "file"', [
        { path: 'file', message: 'required: the bundle zip, as a multipart file part named "file"' },
      ]);
    }
    // The whole archive is checked before the first file or row is written.
    const bundle = parseBundle(await readZipEntries(upload.file.bytes, { maxUncompressedBytes: deps.bundleMaxUncompressedBytes }));
    const result = await importBundle({ db: deps.db, storage }, bundle, { as: query.as });
    const character = await loadCharacterDetail(deps.db, result.characterId);
    const changed = result.created || result.versionsAdded.length > 0 || result.referencesAdded > 0;
    res
      .status(changed ? 201 : 200)
      .location(`/api/v1/characters/${encodeURIComponent(character.slug)}`)
      .json({ character, created: result.created, versionsAdded: result.versionsAdded, referencesAdded: result.referencesAdded });
  });

  return router;
}
