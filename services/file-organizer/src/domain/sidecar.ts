import { graphTakes, type ComfyOutputRef, type JobConditioning, type ReferenceUsed } from '@anime/contracts';
import { redactUrlCredentialsInText } from '@anime/logger';
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
  /** The registered template the graph was bound from (its parameter map); null for the built-in txt2img. */
  template: { params: Record<string, unknown> } | null;
  workflow: unknown;
  metadata: AssetMetadata;
  path: string;
  sha256: string;
  bytes: number;
  image: { width: number; height: number; mime: string };
}

/**
 * The JSON filed beside an image: its provenance, readable without the database. The seed, prompts
 * and LoRAs are the ones the graph applied: a template without a `seed`, `prompt` or `negative`
 * parameter kept its own literal there (null here; `workflow` holds it), and without `loras` none.
 */
export function sidecarBytes(input: SidecarInput): Buffer {
  const { job, version, conditioning, template, metadata, image } = input;
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
    seed: job.seed === null || !graphTakes(template, 'seed') ? null : Number(job.seed),
    prompt: { positive: graphTakes(template, 'prompt') ? conditioning.positive : null, negative: graphTakes(template, 'negative') ? conditioning.negative : null },
    loras: graphTakes(template, 'loras') ? conditioning.loras : [],
    // The template version (slug@version and its parameter values) the graph was bound from.
    template: conditioning.workflow ?? null,
    workflow: input.workflow,
    // Whoever reads the library reads this: a backend's credentials (COMFYUI_URLS) show as ***.
    comfyui: { ...metadata.comfyui, backend: redactUrlCredentialsInText(metadata.comfyui.backend) },
    filedAt: new Date().toISOString(),
  };
  return Buffer.from(JSON.stringify(sidecar, null, 2));
}
