import type { ComfyOutputRef, JobConditioning, ReferenceUsed } from '@anime/contracts';
import type { GenerationRow } from '@anime/pipeline';

/** What an Asset's `metadata` holds: how the image was made, beyond its row's columns. */
export interface AssetMetadata {
  outfit: string | null;
  references: ReferenceUsed[];
  comfyui: { backend: string; promptId: string } & ComfyOutputRef;
}

export interface SidecarInput {
  job: GenerationRow;
  version: { number: number; character: { id: string; slug: string; name: string } };
  conditioning: JobConditioning;
  workflow: unknown;
  metadata: AssetMetadata;
  path: string;
  sha256: string;
  bytes: number;
  image: { width: number; height: number; mime: string };
}

/** The JSON filed beside an image: its provenance, readable without the database. */
export function sidecarBytes(input: SidecarInput): Buffer {
  const { job, version, conditioning, metadata, image } = input;
  const sidecar = {
    jobId: job.id,
    file: input.path.split('/').pop(),
    sha256: input.sha256,
    bytes: input.bytes,
    width: image.width,
    height: image.height,
    mime: image.mime,
    character: { id: version.character.id, slug: version.character.slug, name: version.character.name, version: version.number, outfit: job.outfit },
    references: metadata.references,
    request: job.request,
    seed: job.seed === null ? null : Number(job.seed),
    prompt: { positive: conditioning.positive, negative: conditioning.negative },
    loras: conditioning.loras,
    // The template version (slug@version and its parameter values) the graph was bound from.
    template: conditioning.workflow ?? null,
    workflow: input.workflow,
    comfyui: metadata.comfyui,
    filedAt: new Date().toISOString(),
  };
  return Buffer.from(JSON.stringify(sidecar, null, 2));
}
