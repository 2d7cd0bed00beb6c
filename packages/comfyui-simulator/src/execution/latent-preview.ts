import { pyJsonDumps } from '../python/py-json-dumps';

/**
 * ComfyUI's --preview-method. `none` is its default: a sampler step sends no image. Any other
 * (auto, latent2rgb, taesd) makes every sampler step send a JPEG of the latent (latent_preview.prepare_callback).
 */
export const PREVIEW_METHODS = ['none', 'auto', 'latent2rgb', 'taesd'] as const;
export type PreviewMethod = (typeof PREVIEW_METHODS)[number];

export function isPreviewMethod(value: unknown): value is PreviewMethod {
  return typeof value === 'string' && (PREVIEW_METHODS as readonly string[]).includes(value);
}

/** protocol.BinaryEventTypes: the uint32 (big-endian) every binary frame starts with. */
export const BinaryEventTypes = { PREVIEW_IMAGE: 1, PREVIEW_IMAGE_WITH_METADATA: 4 } as const;

/**
 * The preview image every step sends: an 8 × 8 JPEG of one colour (latent2rgb of a 64 × 64 latent is
 * that small; the pixels of a preview are nobody's business here, its framing is).
 */
export const LATENT_PREVIEW_JPEG = Buffer.from(
  '/9j/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFAEBAAAAAAAAAAAAAAAAAAAAB//EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAMAwEAAhEDEQA/AImAWBm//9k=',
  'base64',
);

const uint32 = (value: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
};

/** server.send_image: [1 PREVIEW_IMAGE][1 = JPEG][image bytes], what a client that negotiated nothing gets. */
export function previewImageFrame(jpeg: Buffer): Buffer {
  return Buffer.concat([uint32(BinaryEventTypes.PREVIEW_IMAGE), uint32(1), jpeg]);
}

/** Whose preview it is, as WebUIProgressHandler.update_handler names it. */
export interface PreviewMetadata {
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: string | null;
  real_node_id: string;
}

/**
 * server.send_image_with_metadata: [4 PREVIEW_IMAGE_WITH_METADATA][json length][json.dumps(metadata +
 * image_type)][image bytes], for a client whose first message negotiated supports_preview_metadata.
 */
export function previewWithMetadataFrame(metadata: PreviewMetadata, jpeg: Buffer): Buffer {
  const json = Buffer.from(pyJsonDumps({ ...metadata, image_type: 'image/jpeg' }), 'utf8');
  return Buffer.concat([uint32(BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA), uint32(json.length), json, jpeg]);
}
