import { UnrecoverableError } from 'bullmq';
import type { AssetFilingPayload, AssetResource, JobConditioning } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { JobStore, referencesUsed, toAssetResource, type JobEventPublisher } from '@anime/pipeline';
import { libraryPath } from '../domain/library-path';

export interface ComfyOutputRef {
  nodeId: string;
  filename: string;
  subfolder: string;
  type: string;
}

export interface FileOutputsDeps {
  db: Db;
  events: JobEventPublisher;
  storage: LibraryStorage;
  /** The exact bytes ComfyUI wrote, fetched through `/view` of the backend that made them. */
  fetchOutput: (backend: string, output: ComfyOutputRef) => Promise<Buffer>;
  log: Logger;
}

interface RecordedOutputs {
  backend: string;
  promptId: string;
  items: ComfyOutputRef[];
}

const VERSION_INCLUDE = { select: { id: true, number: true, character: { select: { id: true, slug: true, name: true } } } } as const;

/**
 * `asset-filing` → copies each output of a finished prompt into the library (file + sidecar JSON),
 * records an Asset per output and completes the job. Keyed by (job, output), so running it again
 * after a crash files nothing twice.
 */
export function createFileOutputsProcessor(deps: FileOutputsDeps) {
  const store = new JobStore(deps.db);

  return async function fileOutputs(payload: AssetFilingPayload) {
    const job = await deps.db.generationJob.findUnique({ where: { id: payload.generationId }, include: { characterVersion: VERSION_INCLUDE } });
    if (!job) throw new UnrecoverableError(`generation ${payload.generationId} does not exist`);
    if (job.status !== 'running') return { outcome: `already ${job.status}` };
    const outputs = job.outputs as unknown as RecordedOutputs | null;
    if (!outputs || !job.characterVersion) throw new UnrecoverableError(`generation ${job.id} has no recorded outputs`);
    const version = job.characterVersion;

    const assets: AssetResource[] = [];
    for (const [index, output] of outputs.items.entries()) {
      const sourceKey = `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}`;
      const existing = await deps.db.asset.findUnique({ where: { jobId_sourceKey: { jobId: job.id, sourceKey } } });
      if (existing && (await deps.storage.sha256(existing.path)) === existing.sha256) {
        assets.push(toAssetResource(existing, version));
        continue;
      }
      const bytes = await deps.fetchOutput(outputs.backend, output);
      const image = sniffImage(bytes);
      if (!image.mime.startsWith('image/') || !image.width || !image.height) {
        throw new UnrecoverableError(`output ${output.filename} of generation ${job.id} is not a recognisable image`);
      }
      const sha256 = sha256Hex(bytes);
      const path = existing?.path ?? libraryPath({
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot,
        characterSlug: version.character.slug, version: version.number, jobId: job.id, index, extension: image.extension,
      });
      const conditioning = (job.conditioning ?? {}) as Partial<JobConditioning>;
      const metadata = {
        outfit: job.outfit,
        references: referencesUsed(conditioning.references),
        comfyui: { backend: outputs.backend, promptId: outputs.promptId, ...output },
      };
      const sidecar = {
        jobId: job.id,
        file: path.split('/').pop(),
        sha256,
        bytes: bytes.length,
        width: image.width,
        height: image.height,
        mime: image.mime,
        character: { id: version.character.id, slug: version.character.slug, name: version.character.name, version: version.number, outfit: job.outfit },
        references: metadata.references,
        request: job.request,
        seed: job.seed === null ? null : Number(job.seed),
        prompt: { positive: conditioning.positive, negative: conditioning.negative },
        loras: conditioning.loras ?? [],
        workflow: job.workflow,
        comfyui: metadata.comfyui,
        filedAt: new Date().toISOString(),
      };
      await deps.storage.write(path, bytes);
      await deps.storage.write(`${path}.json`, Buffer.from(JSON.stringify(sidecar, null, 2)));
      const asset = await deps.db.asset.upsert({
        where: { jobId_sourceKey: { jobId: job.id, sourceKey } },
        update: { sha256, bytes: bytes.length, width: image.width, height: image.height, mime: image.mime },
        create: {
          jobId: job.id, characterVersionId: version.id, sourceKey, path, sha256, bytes: bytes.length,
          width: image.width, height: image.height, mime: image.mime,
          project: job.project, episode: job.episode, scene: job.scene, shot: job.shot, metadata: metadata as object,
        },
      });
      assets.push(toAssetResource(asset, version));
    }
    await deps.events.publishAll([await store.markCompleted(job.id, assets)]);
    deps.log.info('filed outputs', { generationId: job.id, count: assets.length });
    return { outcome: 'filed', assets: assets.map((a) => a.path) };
  };
}
