import { dirname } from 'node:path';
import type { AssetResource, ComfyOutputRef } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { JobLifecycle, MalformedDataError, OutputUnreadableError, readConditioning, readOutputs, readReferenceUse, readWorkflow, referencesUsed, toAssetResource, type GenerationRow, type JobEventPublisher, type StageHandler, type StageResult, type StageRun } from '@anime/pipeline';
import { findFiledOutput, recordFiledOutput } from '../data/asset-rows';
import { libraryPath } from '../domain/library-path';

const FOLDERS_REMEMBERED = 10_000;

export interface FileOutputsDeps {
  db: Db;
  events: JobEventPublisher;
  storage: LibraryStorage;
  /** The exact bytes ComfyUI wrote, fetched through `/view` of the backend that made them. */
  fetchOutput: (backend: string, output: ComfyOutputRef) => Promise<Buffer>;
  log: Logger;
}

/**
 * `asset-filing` → copies each output of a finished prompt into the library (file + sidecar JSON),
 * records an Asset per output and completes the job. Keyed by (job, output), so running it again
 * after a crash files nothing twice.
 */
export function createFileOutputsHandler(deps: FileOutputsDeps): StageHandler<'assetFiling'> {
  const lifecycle = new JobLifecycle(deps.db);
  // Library folders this process has already cleared of temp files: listing one on every filing
  // made filing O(files in the folder) — 10,000 images of one scene cost the soak +43 % RSS and
  // twice the CPU per job. Bounded: forgotten (and listed again) past FOLDERS_REMEMBERED.
  const clearedFolders = new Set<string>();

  return { run: fileOutputs };

  async function fileOutputs(job: GenerationRow, run: StageRun): Promise<StageResult> {
    // A try after a fault or a crash (BullMQ counts a stalled job) may follow a write cut short.
    const mayFollowCutWrite = run.job.attemptsMade > 0 || (run.job.stalledCounter ?? 0) > 0;
    const outputs = readOutputs(job);
    if (!job.characterVersion || !job.character) throw new MalformedDataError(`generation ${job.id} has no resolved character version`);
    const version = { ...job.characterVersion, character: job.character };
    const conditioning = readConditioning(job);
    const workflow = readWorkflow(job);

    const assets: AssetResource[] = [];
    for (const [index, output] of outputs.items.entries()) {
      const sourceKey = `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}`;
      const existing = await findFiledOutput(deps.db, job.id, sourceKey);
      if (existing && (await deps.storage.sha256(existing.path)) === existing.sha256) {
        assets.push(toAssetResource(existing, version));
        continue;
      }
      const bytes = await deps.fetchOutput(outputs.backend, output);
      const image = sniffImage(bytes);
      if (!image.mime.startsWith('image/') || !image.width || !image.height) {
        throw new OutputUnreadableError(`output ${output.filename} of generation ${job.id} is not a recognisable image`);
      }
      const sha256 = sha256Hex(bytes);
      const path = existing?.path ?? libraryPath({
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot,
        characterSlug: version.character.slug, version: version.number, jobId: job.id, index, extension: image.extension,
      });
      const metadata = {
        outfit: job.outfit,
        references: referencesUsed(conditioning.references, readReferenceUse(job)),
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
        loras: conditioning.loras,
        // The template version (slug@version and its parameter values) the graph was bound from.
        template: conditioning.workflow ?? null,
        workflow,
        comfyui: metadata.comfyui,
        filedAt: new Date().toISOString(),
      };
      // Both synced side by side, then their folder once: the image and its sidecar land together.
      await deps.storage.writeAll([{ path, bytes }, { path: `${path}.json`, bytes: Buffer.from(JSON.stringify(sidecar, null, 2)) }]);
      // An earlier try killed mid-write left its temp files; this job alone writes these paths, and its write has landed.
      await removeLeftovers(path, mayFollowCutWrite);
      const asset = await recordFiledOutput(deps.db, {
        jobId: job.id, characterVersionId: version.id, sourceKey, path, sha256, bytes: bytes.length,
        width: image.width, height: image.height, mime: image.mime,
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot, metadata,
      });
      assets.push(toAssetResource(asset, version));
    }
    const completed = await lifecycle.file(job.id, assets);
    if (!completed && (await deps.db.generationJob.count({ where: { id: job.id, status: 'canceled' } }))) {
      // Canceled while its outputs were being filed: nothing stays filed for a canceled generation.
      await unfile(job.id);
      return { outcome: 'canceled while filing; nothing filed' };
    }
    await deps.events.publishAll([completed]);
    deps.log.info('filed outputs', { generationId: job.id, count: assets.length });
    return { outcome: `filed ${assets.length}`, reached: 'filed' };
  }

  /**
   * Removes the temp files a killed write of `path` left beside it: when the folder was not listed
   * since this process started (a restart, or another instance's crash before), or when this try may
   * follow a cut write. What neither covers (two instances, a crash, and the generation re-queued by
   * the recovery sweep rather than BullMQ) is removed by the startup sweep of stale partials.
   */
  async function removeLeftovers(path: string, mayFollowCutWrite = true): Promise<void> {
    const folder = dirname(path);
    if (!mayFollowCutWrite && clearedFolders.has(folder)) return;
    if (clearedFolders.size >= FOLDERS_REMEMBERED) clearedFolders.clear();
    clearedFolders.add(folder);
    const removed = await deps.storage.removeLeftovers(path, `${path}.json`);
    if (removed.length) deps.log.info('removed temp files an interrupted filing left', { files: removed });
  }

  async function unfile(jobId: string): Promise<void> {
    const rows = await deps.db.asset.findMany({ where: { jobId }, select: { path: true } });
    await deps.db.asset.deleteMany({ where: { jobId } });
    for (const { path } of rows) {
      await deps.storage.remove(path);
      await deps.storage.remove(`${path}.json`);
      await removeLeftovers(path);
    }
    deps.log.info('generation canceled while filing; its files were removed', { generationId: jobId, count: rows.length });
  }
}
