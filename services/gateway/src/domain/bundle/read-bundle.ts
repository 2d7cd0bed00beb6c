import { decodeImage } from '@anime/media';
import { imageRefusal } from '../../http/image-refusal';
import { CHARACTER_ENTRY, MANIFEST_ENTRY } from './bundle-format';
import type { BundleWorkspace } from './bundle-workspace';
import { openBundleZip } from './bundle-zip';
import { invalidBundle } from './invalid-bundle';
import { checkListing, checkReferenceBytes, parseCharacterDocument, parseManifest, type ParsedBundle, type ParsedReference } from './parse-bundle';

/** The most manifest.json or character.json may hold: they are read into memory and parsed as JSON. */
export const MAX_BUNDLE_DOCUMENT_BYTES = 16 * 1024 * 1024;

export interface BundleLimits {
  /** BUNDLE_MAX_UNCOMPRESSED_BYTES: all entries together, as declared. */
  maxUncompressedBytes: number;
  /** REFERENCE_MAX_BYTES: one reference image, as for a direct upload. */
  maxReferenceBytes: number;
  /** REFERENCE_MAX_PIXELS: what one reference image may decode to. */
  maxReferencePixels: number;
}

/**
 * Checks a whole bundle lying on disk before anything is written, in the order that bounds the
 * work: the central directory (sizes as declared), then manifest.json, then the listing against
 * it, then character.json, and only then each reference, inflated to the workspace (stopping at its
 * declared size), hashed, and decoded whole. A refusal is a 400 `invalid_bundle` naming the entry
 * (413 for an image over the pixel limit); nothing is ever inflated that the manifest does not list.
 */
export async function readBundle(zipPath: string, workspace: BundleWorkspace, limits: BundleLimits): Promise<ParsedBundle> {
  const zip = await openBundleZip(zipPath, { maxUncompressedBytes: limits.maxUncompressedBytes });
  try {
    const manifestEntry = zip.entries.get(MANIFEST_ENTRY);
    if (!manifestEntry) throw invalidBundle(`the archive holds no ${MANIFEST_ENTRY}`, MANIFEST_ENTRY);
    if (manifestEntry.uncompressedSize > MAX_BUNDLE_DOCUMENT_BYTES) {
      throw invalidBundle(`entry "${MANIFEST_ENTRY}" declares ${manifestEntry.uncompressedSize} bytes, more than the limit of ${MAX_BUNDLE_DOCUMENT_BYTES}`, MANIFEST_ENTRY);
    }
    const manifest = parseManifest(await zip.readBuffer(manifestEntry));
    checkListing(manifest, zip.entries, { maxDocumentBytes: MAX_BUNDLE_DOCUMENT_BYTES, maxReferenceBytes: limits.maxReferenceBytes });

    const document = parseCharacterDocument(await zip.readBuffer(zip.entries.get(CHARACTER_ENTRY)!), manifest);
    const references: ParsedReference[] = [];
    for (const [index, meta] of document.references.entries()) {
      const path = workspace.file(`reference-${index}`);
      checkReferenceBytes(meta, await zip.writeFile(zip.entries.get(meta.file)!, path));
      const decoded = await decodeImage(path, limits.maxReferencePixels).catch((error: unknown) => {
        throw imageRefusal(error, `bundle entry "${meta.file}"`);
      });
      if (decoded.mime !== meta.mime) throw invalidBundle(`"${meta.file}" is declared ${meta.mime} but decodes as ${decoded.mime}`, meta.file);
      references.push({ meta, path, decoded });
    }
    return { character: document.character, versions: document.versions, references };
  } finally {
    zip.close();
  }
}
