import { BUILT_IN_WORKFLOWS, jobConditioningSchema, referenceUseSchema, type ReferenceUse, type AssetResource, type GenerationResource, type JobStatus, type ReferenceUsed } from '@anime/contracts';
import type { Db, GenerationJob, JobAttempt } from '@anime/db';
import { redactUrlCredentialsInText } from '@anime/logger';

type AssetRow = NonNullable<Awaited<ReturnType<Db['asset']['findFirst']>>>;
interface VersionInfo { number: number; character: { id: string; slug: string } }

export function toAssetResource(asset: AssetRow, version: VersionInfo): AssetResource {
  const metadata = (asset.metadata ?? {}) as { outfit?: string | null; references?: unknown };
  return {
    id: asset.id,
    jobId: asset.jobId,
    sha256: asset.sha256,
    width: asset.width,
    height: asset.height,
    mime: asset.mime,
    bytes: asset.bytes,
    path: asset.path,
    url: `/api/v1/assets/${asset.id}/file`,
    thumbnailUrl: `/api/v1/assets/${asset.id}/file`,
    status: asset.status,
    character: { id: version.character.id, slug: version.character.slug, version: version.number },
    outfit: metadata.outfit ?? null,
    references: referencesUsed(metadata.references),
    project: asset.project,
    episode: asset.episode,
    scene: asset.scene,
    shot: asset.shot,
    createdAt: asset.createdAt.toISOString(),
  };
}

const ASSET_INCLUDE = { characterVersion: { select: { number: true, character: { select: { id: true, slug: true } } } } } as const;

export async function loadAssetResources(db: Db, jobId: string): Promise<AssetResource[]> {
  const assets = await db.asset.findMany({ where: { jobId }, include: ASSET_INCLUDE, orderBy: { sourceKey: 'asc' } });
  return assets.map((a) => toAssetResource(a, a.characterVersion));
}

const JOB_INCLUDE = {
  character: { select: { id: true, slug: true, name: true } },
  characterVersion: { select: { number: true } },
  attempts: { orderBy: { number: 'asc' } },
} as const;

/** What a generation's resource is made of: its row, its character, version and attempts. */
export type GenerationResourceRow = Pick<
  GenerationJob,
  'id' | 'status' | 'stage' | 'progressValue' | 'progressMax' | 'progressNode' | 'errorCode' | 'errorMessage' | 'errorDetails' | 'outfit' | 'conditioning' | 'referenceUse' | 'request' | 'source' | 'requestId' | 'seed' | 'backend' | 'promptId' | 'createdAt' | 'startedAt' | 'finishedAt'
> & {
  character: { id: string; slug: string; name: string } | null;
  characterVersion: { number: number } | null;
  attempts: Pick<JobAttempt, 'number' | 'backend' | 'promptId' | 'submittedAt' | 'startedAt' | 'finishedAt' | 'error'>[];
};

const findGenerationRow = (db: Db, id: string) => db.generationJob.findUnique({ where: { id }, include: JOB_INCLUDE });

export async function loadGenerationResource(db: Db, id: string): Promise<GenerationResource | null> {
  const job = await findGenerationRow(db, id);
  if (!job) return null;
  return toGenerationResource(job, await loadAssetResources(db, job.id));
}

/** The public shape of a generation row (shared by every way of reading one). */
export function toGenerationResource(job: GenerationResourceRow, assets: AssetResource[]): GenerationResource {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: job.id,
    status: job.status as JobStatus,
    stage: job.stage,
    progress: job.progressMax === null ? null : { value: job.progressValue ?? 0, max: job.progressMax, node: job.progressNode },
    error: job.errorCode
      ? { code: job.errorCode as never, message: redactUrlCredentialsInText(job.errorMessage ?? ''), ...(job.errorDetails === null ? {} : { details: job.errorDetails }) }
      : null,
    character: job.character ? { ...job.character, version: job.characterVersion?.number ?? null } : null,
    outfit: job.outfit,
    // Shown, not acted on: a row an older writer left without the declared shape shows no references.
    references: referencesUsed(jobConditioningSchema.safeParse(job.conditioning).data?.references, referenceUseSchema.safeParse(job.referenceUse).data),
    workflow: workflowUsed(job.conditioning),
    request: job.request,
    source: job.source,
    requestId: job.requestId,
    seed: job.seed === null ? null : Number(job.seed),
    // COMFYUI_URLS may carry a password, which the rows keep (the file-organizer fetches with it) and
    // messages quote (`ComfyUI at <url> unreachable`): every reader of a generation sees it as ***.
    backend: job.backend === null ? null : redactUrlCredentialsInText(job.backend),
    promptId: job.promptId,
    attempts: job.attempts.map((a) => ({
      number: a.number,
      backend: redactUrlCredentialsInText(a.backend),
      promptId: a.promptId,
      submittedAt: a.submittedAt.toISOString(),
      startedAt: iso(a.startedAt),
      finishedAt: iso(a.finishedAt),
      error: withoutUrlCredentials(a.error),
    })),
    assets,
    createdAt: job.createdAt.toISOString(),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
  };
}

/**
 * The reference list recorded in a job's conditioning or an asset's metadata, in its public shape.
 * With `use` (the attempt's referenceUse) each one says whether it conditioned the image; an
 * asset's metadata already carries what its attempt recorded.
 */
export function referencesUsed(recorded: unknown, use?: ReferenceUse | null): ReferenceUsed[] {
  if (!Array.isArray(recorded)) return [];
  return recorded.map((r: Partial<ReferenceUsed>) => {
    const reference: ReferenceUsed = { id: String(r.id), label: String(r.label), kind: String(r.kind ?? 'other'), sha256: String(r.sha256) };
    const found = use ? use.find((u) => u.sha256 === reference.sha256) : r.applied === undefined ? undefined : { applied: r.applied, appliedHow: r.appliedHow };
    return found ? { ...reference, applied: found.applied, ...(found.appliedHow ? { appliedHow: found.appliedHow } : {}) } : reference;
  });
}

/** The template recorded in a job's conditioning; a resolved row from before templates ran the built-in. */
function workflowUsed(conditioning: unknown): GenerationResource['workflow'] {
  const parsed = jobConditioningSchema.safeParse(conditioning);
  if (!parsed.success) return null;
  const builtIn = BUILT_IN_WORKFLOWS[0];
  return parsed.data.workflow ?? { slug: builtIn.slug, version: builtIn.version, params: {} };
}

/** An attempt's recorded error ({ code, message }, JSON) with no URL's credentials in its message. */
function withoutUrlCredentials<T>(error: T): T {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.includes('://') ? { ...error, message: redactUrlCredentialsInText(message) } : error;
}
