import { dirname } from 'node:path';
import type { AssetResource, ComfyOutputRef, JobEventEnvelope } from '@anime/contracts';
import type { Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { JobLifecycle, MalformedDataError, OutputUnreadableError, readConditioning, readOutputs, readReferenceUse, readWorkflow, referencesUsed, toAssetResource, type GenerationRow, type JobEventPublisher, type StageHandler, type StageResult, type StageRun } from '@anime/pipeline';
import { findFiledOutput, newAssetRow, recordFiledOutput, type AssetRow, type FiledOutput } from '../data/asset-rows';
import { libraryPath } from '../domain/library-path';
import { sidecarBytes, type AssetMetadata } from '../domain/sidecar';

const FOLDERS_REMEMBERED = 10_000;

export interface FileOutputsDeps {
  db: Db;
  events: JobEventPublisher;
  storage: LibraryStorage;
  /** The exact bytes ComfyUI wrote, fetched through `/view` of the backend that made them. */
  fetchOutput: (backend: string, output: ComfyOutputRef) => Promise<Buffer>;
  log: Logger;
}

/** One output of the job being filed: written to the library by this try, or kept as an earlier filing recorded it. */
type Filing = { written: FiledOutput; bytes: Buffer; sidecarAt: (path: string) => Buffer } | { kept: AssetRow };
type VersionOf = Parameters<typeof toAssetResource>[1];

/**
 * `asset-filing` → copies each output of a finished prompt into the library (file + sidecar JSON),
 * then records an Asset per output and completes the job in one statement: a crash records both or
 * neither, and a try after it writes the same paths again. Keyed by (job, output), so running it
 * again files nothing twice.
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
    const references = referencesUsed(conditioning.references, readReferenceUse(job));

    const filings: Filing[] = [];
    for (const [index, output] of outputs.items.entries()) {
      const sourceKey = `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}`;
      let bytes: Buffer;
      try {
        bytes = await deps.fetchOutput(outputs.backend, output);
      } catch (error) {
        // Gone from the backend, but an earlier filing (one that recorded outputs one by one) kept it intact.
        const kept = await keptEarlierFiling(job.id, sourceKey);
        if (!kept) throw error;
        filings.push({ kept });
        continue;
      }
      const image = sniffImage(bytes);
      if (!image.mime.startsWith('image/') || !image.width || !image.height) {
        throw new OutputUnreadableError(`output ${output.filename} of generation ${job.id} is not a recognisable image`);
      }
      const measured = { width: image.width, height: image.height, mime: image.mime };
      const sha256 = sha256Hex(bytes);
      const path = libraryPath({
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot,
        characterSlug: version.character.slug, version: version.number, jobId: job.id, index, extension: image.extension,
      });
      const metadata: AssetMetadata = { outfit: job.outfit, references, comfyui: { backend: outputs.backend, promptId: outputs.promptId, ...output } };
      const sidecarAt = (at: string) => sidecarBytes({ job, version, conditioning, workflow, metadata, path: at, sha256, bytes: bytes.length, image: measured });
      // Both synced, then their folder once, in one task of a synced-write thread: the image and its sidecar land together.
      await deps.storage.writeAll([{ path, bytes }, { path: `${path}.json`, bytes: sidecarAt(path) }]);
      // An earlier try killed mid-write left its temp files; this job alone writes these paths, and its write has landed.
      await removeLeftovers(path, mayFollowCutWrite);
      const written: FiledOutput = {
        jobId: job.id, characterVersionId: version.id, sourceKey, path, sha256, bytes: bytes.length, ...measured,
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot, metadata,
      };
      filings.push({ written, bytes, sidecarAt });
    }

    const completed = await completeFiling(job, version, filings);
    if (!completed && (await deps.db.generationJob.count({ where: { id: job.id, status: 'canceled' } }))) {
      // Canceled while its outputs were being filed: nothing stays filed for a canceled generation.
      await unfile(job.id, filings.flatMap((f) => ('written' in f ? [f.written.path] : [])), run.log);
      return { outcome: 'canceled while filing; nothing filed' };
    }
    await deps.events.publishAll([completed]);
    run.log.info('filed outputs', { generationId: job.id, count: filings.length });
    return { outcome: `filed ${filings.length}`, reached: 'filed' };
  }

  /** Records the Assets and applies `file`: one statement, unless an earlier filing recorded Assets of the job already. */
  async function completeFiling(job: GenerationRow, version: VersionOf, filings: Filing[]): Promise<JobEventEnvelope<'job:completed'> | null> {
    if (filings.every((f) => 'written' in f)) {
      const rows = filings.map((f) => newAssetRow(f.written));
      const { completed, earlier } = await lifecycle.fileWithAssets(job.id, rows.map((row) => toAssetResource(row, version)), rows);
      if (completed || earlier === 0) return completed;
    }
    return fileOverEarlierRecords(job, version, filings);
  }

  /** An output an earlier filing recorded whose file is still intact, if any. */
  async function keptEarlierFiling(jobId: string, sourceKey: string): Promise<AssetRow | null> {
    const existing = await findFiledOutput(deps.db, jobId, sourceKey);
    return existing && (await deps.storage.sha256(existing.path)) === existing.sha256 ? existing : null;
  }

  /**
   * The job has Asset rows from an earlier filing that recorded outputs one by one before a crash:
   * records each output over its row (keeping the row's path: should that name another file than
   * this try wrote, the image moves there), then applies `file`.
   */
  async function fileOverEarlierRecords(job: GenerationRow, version: VersionOf, filings: Filing[]): Promise<JobEventEnvelope<'job:completed'> | null> {
    const assets: AssetResource[] = [];
    for (const filing of filings) {
      if ('kept' in filing) {
        assets.push(toAssetResource(filing.kept, version));
        continue;
      }
      let output = filing.written;
      const existing = await findFiledOutput(deps.db, job.id, output.sourceKey);
      if (existing && existing.path !== output.path) {
        await deps.storage.writeAll([{ path: existing.path, bytes: filing.bytes }, { path: `${existing.path}.json`, bytes: filing.sidecarAt(existing.path) }]);
        await removeLeftovers(existing.path);
        await deps.storage.remove(output.path);
        await deps.storage.remove(`${output.path}.json`);
        output = { ...output, path: existing.path };
      }
      assets.push(toAssetResource(await recordFiledOutput(deps.db, output), version));
    }
    return lifecycle.file(job.id, assets);
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

  /** Removes the job's Asset rows and their files, and the files this try wrote (recorded or not). */
  async function unfile(jobId: string, written: string[], log: Logger): Promise<void> {
    const rows = await deps.db.asset.findMany({ where: { jobId }, select: { path: true } });
    await deps.db.asset.deleteMany({ where: { jobId } });
    const paths = [...new Set([...rows.map((r) => r.path), ...written])];
    for (const path of paths) {
      await deps.storage.remove(path);
      await deps.storage.remove(`${path}.json`);
      await removeLeftovers(path);
    }
    log.info('generation canceled while filing; its files were removed', { generationId: jobId, count: paths.length });
  }
}
