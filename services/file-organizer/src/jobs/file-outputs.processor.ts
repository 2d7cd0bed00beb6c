import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { AssetResource, ComfyOutputRef, JobEventEnvelope } from '@anime/contracts';
import { isDatabaseUnavailable, type Db } from '@anime/db';
import type { Logger } from '@anime/logger';
import { answeredWithin, IMAGE_EXTENSIONS, isLibraryNotAnswering, LIBRARY_READ_BASE_MS, LibraryWriteNotAnsweringError, libraryReadTimeoutMs, libraryRefusal, sha256Hex, sniffImage, type LibraryStorage } from '@anime/media';
import { allows, FilingFencedError, JobLifecycle, loadGeneration, MalformedDataError, OutputUnreadableError, readConditioning, readOutputs, readReferenceUse, readWorkflow, referencesUsed, StageDeferredError, toAssetResource, type GenerationRow, type JobEventPublisher, type StageHandler, type StageResult, type StageRun } from '@anime/pipeline';
import { loadTemplateVersion } from '@anime/workflows';
import { findFiledOutput, newAssetRow, recordFiledOutput, type AssetRow, type FiledOutput } from '../data/asset-rows';
import { fenceFiling, holdFiling, type Fenced, type HeldFiling } from '../data/filing-hold';
import { backendDown, MAX_WAIT_STEP_MS, nextLookInMs, type BackendWait } from '../domain/backend-wait';
import { libraryPath } from '../domain/library-path';
import { createWaitLog } from '../domain/wait-log';
import { sidecarBytes, type AssetMetadata } from '../domain/sidecar';
import { cutShort } from '../domain/whole-image';

const FOLDERS_REMEMBERED = 10_000;
/** How soon a try whose claim a removal of the job's files fenced off looks again (a removal on a hung mount lasts its bound, 30 s; one whose late unlink is awaited, up to JOB_TIMEOUT_S: see claimFiling). */
const FENCED_LOOK_MS = 1_000;
/** A failed generation's unsettled filing is swept once untouched this long (a try failing it may still be removing its files). */
export const FAILED_FILING_GRACE_MS = 10_000;
const FAILED_FILING_PAGE = 200;
/** How many removals left behind on a hung mount may each keep their filing fenced (and a connection) before no more removals are made. */
const MAX_REMOVALS_LEFT_BEHIND = 2;
/** Failed awaiting filing, a claim still set: the filing's files may still be in the library (sweepFailedFilings). */
const UNSETTLED_FAILED_FILING = { status: 'failed' as const, stage: 'rendered' as const, filingToken: { not: null } };

/** The filing stage's handler, and the sweep of failed generations' unsettled filings the service runs beside it. */
export type FileOutputsHandler = StageHandler<'assetFiling'> & { sweepFailedFilings(graceMs?: number, signal?: AbortSignal): Promise<number> };

export interface FileOutputsDeps {
  db: Db;
  events: JobEventPublisher;
  storage: LibraryStorage;
  /** The exact bytes ComfyUI wrote, fetched through `/view` of the backend that made them. */
  fetchOutput: (backend: string, output: ComfyOutputRef, signal?: AbortSignal) => Promise<Buffer>;
  log: Logger;
  /** How long filing waits for a backend that is down (default: 600 s, JOB_TIMEOUT_S's default, looking at most every 15 s). */
  backendWait?: Partial<BackendWait>;
}

/**
 * One output of the job being filed: written to the library by this try, or kept as an earlier filing
 * recorded it. Its bytes are not held: a prompt may list many outputs, and only the rare move onto an
 * earlier record's path reads them back from the library.
 */
type Filing = { written: FiledOutput; sidecarAt: (path: string) => Buffer } | { kept: AssetRow };
type VersionOf = Parameters<typeof toAssetResource>[1];
/** The generation's character version with its character, as filing reads them. */
type ResolvedVersion = NonNullable<GenerationRow['characterVersion']> & { character: NonNullable<GenerationRow['character']> };

const writtenPaths = (filings: Filing[]) => filings.flatMap((f) => ('written' in f ? [f.written.path] : []));

/** How a try ends that finds another try owns the filing now: not a failure of the generation's filing. */
const TAKEN_OVER: StageResult = { outcome: 'another try owns the filing now; this one stopped' };

/** What unfile is told to do by the row it locked: settle without removing anything, or remove the filing, then answer `then`. */
type Unfiling<T> = { settled: T } | { unfile: string; then: T };

/**
 * `asset-filing` → copies each output of a finished prompt into the library (file + sidecar JSON),
 * then records an Asset per output and completes the job in one statement: a crash records both or
 * neither, and a try after it writes the same paths again. Keyed by (job, output), so running it
 * again files nothing twice.
 *
 * Two tries may run at once (a try whose queue job went to another instance after its lock expired
 * goes on, as does one whose job Redis lost and the recovery sweep added again), writing the same
 * paths. Each claims the filing before it writes (with its read of the row,
 * JobLifecycle.loadClaimingFiling, else JobLifecycle.claimFiling); only the owner records or
 * completes it, and files are removed only with the filing fenced (fenceFiling: no try claims it
 * meanwhile), by the owner or once the generation is over, deciding with the row locked (holdFiling)
 * but never holding it while files go. A try another one took over stops without failing the generation.
 */
export function createFileOutputsHandler(deps: FileOutputsDeps): FileOutputsHandler {
  const lifecycle = new JobLifecycle(deps.db);
  // Library folders this process has already cleared of temp files: listing one on every filing
  // made filing O(files in the folder) — 10,000 images of one scene cost the soak +43 % RSS and
  // twice the CPU per job. Bounded: forgotten (and listed again) past FOLDERS_REMEMBERED.
  const clearedFolders = new Set<string>();

  const backendWait: BackendWait = { limitMs: 600_000, maxStepMs: MAX_WAIT_STEP_MS, ...deps.backendWait };
  // A filing's first wait at info, its later looks at debug, and how many wait once a minute.
  const waitLog = createWaitLog(deps.log);

  // The claim a run's read of the row took (loadClaiming), for fileOutputs to file under.
  const claims = new WeakMap<StageRun, string>();
  // Removals that timed out whose unlink the kernel may still carry out, each keeping its filing's fence (removeFiles).
  let removalsLeftBehind = 0;

  return { load: loadClaiming, run: fileOutputs, settle: removeUnfiled, waitOut: waitForBackend, sweepFailedFilings };

  /**
   * The generations that failed at filing with their filing unsettled (a claim still set), untouched
   * for `graceMs`: each may hold files of its own in the library that nothing else removes. Their
   * filing job's admission cannot settle them as it does a canceled one's (a filing job re-opens a
   * failed generation: admitStage), so they are settled here, by the same three-step removal
   * (unfile): the claim taken, the files (and any Asset rows) removed, the claim cleared, each step
   * safe to die after (the claim stays set until the end, for the next sweep). Ways to get here: a
   * try failed while the library did not answer (its files kept for the next try, then its tries
   * ran out), a try whose removal of its files failed, a try killed after writing once another try
   * failed the generation, a removal of a failed generation's files killed between its steps. A
   * generation retried meanwhile is left to its retry's filing (which waits for the fence). Stops
   * between two generations once `signal` is aborted. Returns how many were settled.
   */
  async function sweepFailedFilings(graceMs: number = FAILED_FILING_GRACE_MS, signal?: AbortSignal): Promise<number> {
    const before = new Date(Date.now() - graceMs);
    let settled = 0;
    let after: string | undefined;
    for (;;) {
      const page = await deps.db.generationJob.findMany({
        where: { ...UNSETTLED_FAILED_FILING, updatedAt: { lt: before }, ...(after ? { id: { gt: after } } : {}) },
        select: { id: true },
        orderBy: { id: 'asc' },
        take: FAILED_FILING_PAGE,
      });
      for (const { id } of page) {
        if (signal?.aborted) return settled;
        const job = await loadGeneration(deps.db, id);
        if (!job || job.status !== 'failed' || !job.outputs || !job.characterVersion || !job.character) continue;
        try {
          // In the try: outputs that cannot be read (MalformedDataError) stop this generation's removal, not the sweep's.
          const paths = outputPaths(job, { ...job.characterVersion, character: job.character });
          const done = await unfile(id, null, paths, deps.log, (held): Unfiling<boolean> =>
            held.status === 'failed' && held.stage === 'rendered' ? { unfile: 'generation failed while filing', then: true } : { settled: false },
          );
          if (done) settled++;
        } catch (error) {
          // Retried while its files went: the retry's filing (fenced meanwhile) files it now.
          if (error instanceof StageDeferredError) continue;
          // The library or PostgreSQL away: so for the rest too; the next sweep tries again.
          if (isLibraryNotAnswering(error) || libraryRefusal(error) || isDatabaseUnavailable(error)) throw error;
          deps.log.warn('could not remove the files of a generation that failed while filing; the next sweep tries again', { generationId: id, error: (error as Error).message });
        }
      }
      if (page.length < FAILED_FILING_PAGE) return settled;
      after = page[page.length - 1].id;
    }
  }

  /**
   * The stage worker's read of the row, which claims the filing in the same statement when the
   * generation awaits filing: the claim fileOutputs would make first on that row, one statement
   * sooner (a generation in any other state is not claimed, and fileOutputs is not run on it).
   */
  async function loadClaiming(generationId: string, run: StageRun): Promise<GenerationRow | null> {
    const token = randomUUID();
    const { generation, claimed } = await lifecycle.loadClaimingFiling(generationId, token);
    if (claimed) claims.set(run, token);
    return generation;
  }

  async function fileOutputs(job: GenerationRow, run: StageRun): Promise<StageResult> {
    const claimed = claims.get(run);
    claims.delete(run);
    if (!job.characterVersion || !job.character) throw new MalformedDataError(`generation ${job.id} has no resolved character version`);
    const version: ResolvedVersion = { ...job.characterVersion, character: job.character };
    // Before any write (claimed with the row's read, or here): from here an earlier try still running records and removes nothing.
    const token = claimed ?? randomUUID();
    if (!claimed && !(await claimFiling(job, version, token, run))) return notFiled(job, version, token, [], run.log);

    const filings: Filing[] = [];
    try {
      await fileEach(job, version, run, filings);
    } catch (error) {
      // A try that fails keeps nothing it wrote: a later try writes the same paths again, and a
      // generation that fails here leaves no file behind.
      if ((await removeUnrecorded(job, version, token, filings, run.log, error)) === 'taken over') return takenOver(job, run.log);
      throw error;
    }

    let completed: JobEventEnvelope<'job:completed'> | null;
    try {
      completed = await completeFiling(job, version, filings, token);
    } catch (error) {
      // Recording failed (a fault of the database, or of what ComfyUI listed): the files no row records go too.
      if ((await removeUnrecorded(job, version, token, filings, run.log, error)) === 'taken over') return takenOver(job, run.log);
      throw error;
    }
    if (!completed) return notFiled(job, version, token, writtenPaths(filings), run.log);
    await deps.events.publishAll([completed]);
    waitLog.end(job.id);
    run.log.info('filed outputs', { generationId: job.id, count: filings.length });
    return { outcome: `filed ${filings.length}`, reached: 'filed' };
  }

  /**
   * lifecycle.claimFiling, or a wait while a removal of the job's files (an earlier filing's, its
   * generation canceled, then retried) holds the filing fenced: the job is delayed, its tries untouched.
   * A removal the library did not answer keeps the fence until its late unlink lands (Fenced.keepUntil),
   * on a hard-hung mount for hours: so the wait is the one a filing gets from a library that does not
   * answer, JOB_TIMEOUT_S after its filing job was queued (waitForBackend). Past it the try fails as a
   * write to the hung mount does (ETIMEDOUT, naming the job's folder), having written nothing (the
   * fence still keeps every try off the paths): waitForBackend finds the wait over, and its tries
   * decide, each claiming again (the fence let go meanwhile, the filing goes on), the last failing
   * the generation (filing_failed).
   */
  async function claimFiling(job: GenerationRow, version: ResolvedVersion, token: string, run: StageRun): Promise<boolean> {
    try {
      return await lifecycle.claimFiling(job.id, token);
    } catch (error) {
      if (!(error instanceof FilingFencedError)) throw error;
      const waitedMs = Date.now() - run.job.timestamp;
      const left = backendWait.limitMs - waitedMs;
      if (left > 0) throw new StageDeferredError(`${error.message}: the filing waits for them`, Math.min(FENCED_LOOK_MS, left), undefined, 'debug');
      const folder = dirname(outputPaths(job, version)[0] ?? '');
      throw Object.assign(new Error(`ETIMEDOUT: ${error.message}, still after ${Math.round(waitedMs / 1000)} s (a removal the library did not answer may still land: a hung mount?)`), { code: 'ETIMEDOUT', syscall: 'unlink', path: folder });
    }
  }

  /** Fetches and writes each output of the job (file, then sidecar), pushing each onto `filings` as it lands. */
  async function fileEach(job: GenerationRow, version: ResolvedVersion, run: StageRun, filings: Filing[]): Promise<void> {
    // A try after a fault or a crash (BullMQ counts a stalled job) may follow a write cut short.
    const mayFollowCutWrite = run.job.attemptsMade > 0 || (run.job.stalledCounter ?? 0) > 0;
    // Folders this try listed for an earlier output: listed again for each later one (removeLeftovers).
    const listedByThisTry = new Set<string>();
    const outputs = readOutputs(job);
    const conditioning = readConditioning(job);
    const workflow = readWorkflow(job);
    // What the template takes decides what the sidecar says was applied (immutable, so as when it rendered).
    const template = await loadTemplateVersion(deps.db, conditioning);
    const references = referencesUsed(conditioning.references, readReferenceUse(job));
    for (const [index, output] of outputs.items.entries()) {
      // The worker is closing (closeWorkers aborted the signal): the job goes back to its queue, what
      // this try wrote is removed (fileOutputs), and the next process files it all.
      run.signal?.throwIfAborted();
      const sourceKey = `${output.nodeId}/${output.type}/${output.subfolder}/${output.filename}`;
      let bytes: Buffer;
      try {
        bytes = await deps.fetchOutput(outputs.backend, output, run.signal);
      } catch (error) {
        run.signal?.throwIfAborted();
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
      const cut = cutShort(bytes, image.mime);
      if (cut) throw new OutputUnreadableError(`output ${output.filename} of generation ${job.id} is cut short: ${cut} (${bytes.length} bytes from ${outputs.backend})`);
      const measured = { width: image.width, height: image.height, mime: image.mime };
      const sha256 = sha256Hex(bytes);
      const path = libraryPath({
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot,
        characterSlug: version.character.slug, version: version.number, jobId: job.id, index, extension: image.extension,
      });
      const metadata: AssetMetadata = { outfit: job.outfit, references, comfyui: { backend: outputs.backend, promptId: outputs.promptId, ...output } };
      const size = bytes.length;
      const sidecarAt = (at: string) => sidecarBytes({ job, version, conditioning, template, workflow, metadata, path: at, sha256, bytes: size, image: measured });
      // Both synced, then their folder once, in one task of a synced-write thread: the image and its sidecar land together.
      await deps.storage.writeAll([{ path, bytes }, { path: `${path}.json`, bytes: sidecarAt(path) }]);
      // An earlier try killed mid-write left its temp files; this job alone writes these paths, and its write has landed.
      await removeLeftovers(path, mayFollowCutWrite, listedByThisTry);
      const written: FiledOutput = {
        jobId: job.id, characterVersionId: version.id, sourceKey, path, sha256, bytes: size, ...measured,
        project: job.project, episode: job.episode, scene: job.scene, shot: job.shot, metadata,
      };
      filings.push({ written, sidecarAt });
    }
  }

  /**
   * The backend holding the outputs is down, or the library refuses writes (full, read-only, not
   * writable: an operator's fix, which five tries within 15 s would not wait for) or does not answer
   * (a hung mount: a write step past its bound, LocalLibraryStorage, a read past answeredWithin's, or
   * a soft mount's own ETIMEDOUT); the try that met it removed what it wrote, or tried to (not when
   * the library does not answer: see removeUnrecorded). The job
   * waits in Redis, delayed, holding no worker slot and spending no try, until JOB_TIMEOUT_S after its
   * filing job was queued; then its tries decide. A generation canceled meanwhile runs again at once,
   * for its admission to end it.
   */
  async function waitForBackend(error: unknown, job: GenerationRow, run: StageRun): Promise<number | undefined> {
    const refusal = libraryRefusal(error);
    const notAnswering = !refusal && isLibraryNotAnswering(error);
    if (!backendDown(error) && !refusal && !notAnswering) return undefined;
    const what = refusal
      ? `the library refuses writes (${refusal.code}: ${refusal.reason})`
      : notAnswering
        ? 'the library does not answer (ETIMEDOUT: a hung mount?)'
        : 'the backend holding the outputs is unreachable';
    const waitedMs = Date.now() - run.job.timestamp;
    const nextLook = nextLookInMs(waitedMs, backendWait);
    const meta = { generationId: job.id, waitedS: Math.round(waitedMs / 1000), limitS: Math.round(backendWait.limitMs / 1000), error: (error as Error).message };
    if (nextLook === undefined) {
      waitLog.end(job.id);
      run.log.warn(`${what}, still after the wait (JOB_TIMEOUT_S): the filing spends its tries now`, meta);
      return undefined;
    }
    // Read again: the row `job` was read before the try, and a cancel need not wait for the next look.
    const now = await loadGeneration(deps.db, job.id).catch(() => job);
    if (!now || !allows('file', now)) {
      waitLog.end(job.id);
      return 0;
    }
    waitLog.look(run.log, job.id, what, `${what}: the filing waits, its tries untouched`, { ...meta, nextLookInMs: nextLook });
    return nextLook;
  }

  /**
   * The generation is over without having been filed (canceled or failed), and a job of this queue
   * still came for it: an earlier try may have written its files and died before recording them
   * (a crash, then a cancel). Its outputs' paths are a function of the job, so they are removed
   * whatever image type each was, with any Asset row of it.
   */
  async function removeUnfiled(job: GenerationRow, run: StageRun): Promise<void> {
    // Canceled or failed while its job was delayed: its wait ends here, not in a look.
    waitLog.end(job.id);
    if (job.status === 'completed' || !job.outputs || !job.characterVersion || !job.character) return;
    const paths = outputPaths(job, { ...job.characterVersion, character: job.character });
    await unfile(job.id, null, paths, run.log, (held): Unfiling<void> =>
      // Re-opened since it was read (a retry): its filing is a try's again.
      held.status !== 'canceled' && held.status !== 'failed' ? { settled: undefined } : { unfile: `generation ${held.status} before it was filed`, then: undefined },
    );
  }

  /** Every path an output of the job may be filed at (its image type decides the extension). */
  function outputPaths(job: GenerationRow, version: ResolvedVersion): string[] {
    return readOutputs(job).items.flatMap((_, index) =>
      IMAGE_EXTENSIONS.map((extension) =>
        libraryPath({ project: job.project, episode: job.episode, scene: job.scene, shot: job.shot, characterSlug: version.character.slug, version: version.number, jobId: job.id, index, extension }),
      ),
    );
  }

  /**
   * After a try failed: removes the files of the job's outputs that no Asset row records (an earlier
   * filing's rows keep theirs), this try's and any an earlier try still running wrote. Unless another
   * try owns the filing now ('taken over'): those paths are its own to write, record or remove. Nor
   * when the try failed for the library not answering (`cause`, a hung mount): its removals would not
   * be answered either, and each would wait out its bound (30 s) holding the worker's slot and the
   * filing fenced; the files stay for the next try, which writes the same paths over them, or for
   * the admission of a generation canceled. Removed in the filing's fence (fenceFiling), not with
   * the row held: no try claims the filing meanwhile, and a retry or a cancel of the generation does
   * not wait for the removals (it waited past its lock_timeout, answered 503).
   */
  async function removeUnrecorded(job: GenerationRow, version: ResolvedVersion, token: string, filings: Filing[], log: Logger, cause: unknown): Promise<'removed' | 'taken over' | 'kept'> {
    try {
      const paths = [...new Set([...outputPaths(job, version), ...writtenPaths(filings)])];
      const takenOver = (held: HeldFiling) => !held.owner && allows('file', held);
      if (isLibraryNotAnswering(cause)) return (await holdFiling(deps.db, job.id, token, async (held) => (takenOver(held) ? 'taken over' : 'kept'))) ?? 'kept';
      const done = await fenceFiling(deps.db, job.id, async (fenced) => {
        const recorded = await fenced.hold(token, async (held) => (takenOver(held) ? ('taken over' as const) : held.recorded));
        if (recorded === null || recorded === 'taken over') return recorded;
        // Only this try records the filing (the owner), or none does (the generation is over): `recorded` holds.
        await removeFiles(paths.filter((path) => !recorded.has(path)), fenced);
        return 'removed' as const;
      });
      return done ?? 'kept';
    } catch (error) {
      // Refused as this try's writes were (read-only, a file where a folder goes), or not answered (a
      // hung mount), having written nothing: the filing's wait says so, and a warn a look would repeat
      // it for each filing.
      const refusedAsTheWrites = (libraryRefusal(error) || isLibraryNotAnswering(error)) && writtenPaths(filings).length === 0;
      log.log(refusedAsTheWrites ? 'debug' : 'warn', 'could not remove the files of a failed filing; the next try writes them again', { generationId: job.id, error: (error as Error).message });
      return 'kept';
    }
  }

  /**
   * Recording was refused, or the claim: another try filed the generation or owns its filing now,
   * or it was canceled (or failed) meanwhile, and then nothing stays filed for it.
   */
  async function notFiled(job: GenerationRow, version: ResolvedVersion, token: string, written: string[], log: Logger): Promise<StageResult> {
    waitLog.end(job.id);
    const ended = await unfile(job.id, token, [...outputPaths(job, version), ...written], log, (held): Unfiling<StageResult> => {
      // Another try filed it first (the same paths, the same bytes): nothing to undo.
      if (held.status === 'completed') return { settled: { outcome: 'filed by another try' } };
      if (allows('file', held)) return { settled: TAKEN_OVER };
      return { unfile: `generation ${held.status} while filing`, then: { outcome: `${held.status} while filing; nothing filed` } };
    });
    if (ended) return ended;
    await removeFiles(written);
    return { outcome: 'gone while filing; nothing filed' };
  }

  function takenOver(job: GenerationRow, log: Logger): StageResult {
    log.info('another try owns the filing now: this one stopped, leaving the files to it', { generationId: job.id });
    return TAKEN_OVER;
  }

  /** Records the Assets and applies `file`: one statement, unless an earlier filing recorded Assets of the job already. */
  async function completeFiling(job: GenerationRow, version: VersionOf, filings: Filing[], token: string): Promise<JobEventEnvelope<'job:completed'> | null> {
    if (filings.every((f) => 'written' in f)) {
      const rows = filings.map((f) => newAssetRow(f.written));
      const { completed, earlier } = await lifecycle.fileWithAssets(job.id, rows.map((row) => toAssetResource(row, version)), rows, token);
      if (completed || earlier === 0) return completed;
    }
    return fileOverEarlierRecords(job, version, filings, token);
  }

  /**
   * An output an earlier filing recorded whose file is still intact, if any: of the recorded size (a
   * stat first: a file of another size is not it, and hashing a large one whole would outlast the
   * bound), then of the recorded hash. A read the file system refuses fails the try, as does one the
   * library does not answer within its bound (LibraryNotAnsweringError: the filing waits for it).
   */
  async function keptEarlierFiling(jobId: string, sourceKey: string): Promise<AssetRow | null> {
    const existing = await findFiledOutput(deps.db, jobId, sourceKey);
    if (!existing) return null;
    const there = await answeredWithin(deps.storage.version(existing.path), existing.path, LIBRARY_READ_BASE_MS);
    if (!there || there.bytes !== existing.bytes) return null;
    return (await answeredWithin(deps.storage.sha256(existing.path), existing.path, libraryReadTimeoutMs(existing.bytes))) === existing.sha256 ? existing : null;
  }

  /**
   * The job has Asset rows from an earlier filing that recorded outputs one by one before a crash:
   * records each output over its row (keeping the row's path: should that name another file than
   * this try wrote, the image moves there), then applies `file`.
   */
  async function fileOverEarlierRecords(job: GenerationRow, version: VersionOf, filings: Filing[], token: string): Promise<JobEventEnvelope<'job:completed'> | null> {
    const assets: AssetResource[] = [];
    for (const filing of filings) {
      if ('kept' in filing) {
        assets.push(toAssetResource(filing.kept, version));
        continue;
      }
      let output = filing.written;
      const existing = await findFiledOutput(deps.db, job.id, output.sourceKey);
      if (existing && existing.path !== output.path) {
        // Bounded as every library read of a filing is: on a hung mount the try fails (the filing waits) rather than holding its slot.
        const bytes = await answeredWithin(deps.storage.read(output.path), output.path, libraryReadTimeoutMs(output.bytes));
        await deps.storage.writeAll([{ path: existing.path, bytes }, { path: `${existing.path}.json`, bytes: filing.sidecarAt(existing.path) }]);
        await removeLeftovers(existing.path);
        await deps.storage.remove(output.path);
        await deps.storage.remove(`${output.path}.json`);
        output = { ...output, path: existing.path };
      }
      const recorded = await recordFiledOutput(deps.db, output, token);
      // Another try owns the filing now.
      if (!recorded) return null;
      assets.push(toAssetResource(recorded, version));
    }
    return lifecycle.file(job.id, assets, token);
  }

  /**
   * Removes the temp files a killed write of `path` left beside it: when the folder was not listed
   * since this process started (a restart, or another instance's crash before), or when this try may
   * follow a cut write. A try that listed the folder for one output lists it again for each later one
   * (`listedByThisTry`): each listing removes only the temp files of the path just written, so the
   * later outputs' (a try killed writing the third, the job re-queued by the recovery sweep, its
   * counters fresh) stayed until the hourly sweep of stale partials. What none of this covers (two
   * instances, a crash, and the generation re-queued by the recovery sweep rather than BullMQ) is
   * removed by that sweep.
   */
  async function removeLeftovers(path: string, mayFollowCutWrite = true, listedByThisTry?: Set<string>): Promise<void> {
    const folder = dirname(path);
    if (!mayFollowCutWrite && clearedFolders.has(folder) && !listedByThisTry?.has(folder)) return;
    listedByThisTry?.add(folder);
    if (clearedFolders.size >= FOLDERS_REMEMBERED) clearedFolders.clear();
    clearedFolders.add(folder);
    const removed = await deps.storage.removeLeftovers(path, `${path}.json`);
    if (removed.length) deps.log.info('removed temp files an interrupted filing left', { files: removed });
  }

  /**
   * Each file and its sidecar; none once the fence is lost (a try may write these paths now). A
   * removal the library does not answer within its bound is still carried out by the kernel once the
   * volume answers, by name: the fence is kept until it lands (Fenced.keepUntil), or a retry's filing
   * could write the path first and lose its file to it (library paths are fixed per job).
   */
  async function removeFiles(paths: string[], fence?: Fenced): Promise<void> {
    for (const file of paths.flatMap((path) => [path, `${path}.json`])) {
      fence?.lost.throwIfAborted();
      // Each fence kept holds a connection of the pool (and each unlink left behind a libuv thread): past a few, the mount hangs, and no more are made.
      if (fence && removalsLeftBehind >= MAX_REMOVALS_LEFT_BEHIND) {
        throw Object.assign(new Error(`ETIMEDOUT: ${removalsLeftBehind} removals of the library are still unanswered (a hung mount?); not removing '${file}' now`), { code: 'ETIMEDOUT', syscall: 'unlink', path: file });
      }
      try {
        await deps.storage.remove(file);
      } catch (error) {
        const leftBehind = error instanceof LibraryWriteNotAnsweringError ? error.leftBehind : undefined;
        if (fence && leftBehind) {
          removalsLeftBehind++;
          fence.keepUntil(leftBehind.finally(() => removalsLeftBehind--));
          deps.log.info('a removal the library did not answer may still land: the filing stays fenced until it does', { path: file });
        }
        throw error;
      }
    }
  }

  /**
   * A generation that is over: removes the job's Asset rows and their files, and the files at
   * `written` (recorded or not), unless `decide`, told the row as it is once locked, settles
   * otherwise (its answer is returned, nothing removed). Null when the generation is gone.
   *
   * The files go without the row held: on a hung mount each removal waits out its bound (30 s), and
   * a retry or a cancel of the generation meanwhile would wait for the row past its lock_timeout
   * (answered 503). In the filing's fence instead (fenceFiling): no try claims the filing until the
   * removal is done, so a retry's filing never writes a path before this removal has let go of it
   * (it waits, its tries untouched). Three steps, each safe to die after:
   * - with the row locked, the removal takes the filing's claim (a token of its own): a try that
   *   claimed it before records nothing from then on, and the claim marks the filing unsettled for
   *   the recovery sweep (findStranded) should this process die before the end;
   * - the files are removed, the row free;
   * - with the row locked again, the claim still the removal's (no try claimed since: fenced), the
   *   Asset rows go (only now: a removal cut short is done again from them) and the claim is cleared.
   * A generation retried meanwhile is filed by this job, deferred (StageDeferredError) to run again.
   */
  async function unfile<T>(jobId: string, token: string | null, written: string[], log: Logger, decide: (held: HeldFiling) => Unfiling<T>): Promise<T | null> {
    return fenceFiling(deps.db, jobId, async (fenced) => {
      const { hold, lost } = fenced;
      const removal = randomUUID();
      const begun = await hold(token, async (held) => {
        const decided = decide(held);
        if ('unfile' in decided) await held.takeClaim(removal);
        return { decided, recorded: held.recorded };
      });
      if (!begun) return null;
      const { decided, recorded } = begun;
      if ('settled' in decided) return decided.settled;
      const paths = [...new Set([...recorded, ...written])];
      await removeFiles(paths, fenced);
      lost.throwIfAborted();
      // Each folder listed once for all the paths in it.
      await deps.storage.removeLeftovers(...paths.flatMap((path) => [path, `${path}.json`]));
      const reopened = await hold(removal, async (held) => {
        if (held.owner) {
          await held.forgetAssets();
          await held.releaseClaim();
        }
        return allows('file', held);
      });
      log.info(`${decided.unfile}: its files were removed`, { generationId: jobId, paths: paths.length });
      // Retried meanwhile (the retry answered at once): its hand-off found this job still active and
      // added none, so this one files it, admitted again at once, its tries untouched.
      if (reopened) throw new StageDeferredError(`generation ${jobId} was retried while its files were removed: its filing runs now`, 0);
      return decided.then;
    });
  }
}
