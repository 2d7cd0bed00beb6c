import type { JobError } from './job-errors';
import type { JobStage } from './job-stages';
import type { ReferenceUse } from './stored-columns';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'canceled';
export const TERMINAL_STATUSES: JobStatus[] = ['completed', 'failed', 'canceled'];

/** A character reference image a generation used, as recorded when its character was resolved. */
export interface ReferenceUsed {
  id: string;
  label: string;
  kind: string;
  sha256: string;
  /** Whether it conditioned the image on the backend that rendered it; absent until a graph was built. */
  applied?: boolean;
  appliedHow?: ReferenceUse[number]['appliedHow'];
}

export interface AssetResource {
  id: string;
  jobId: string;
  sha256: string;
  width: number;
  height: number;
  mime: string;
  bytes: number;
  path: string;
  url: string;
  thumbnailUrl: string;
  status: string;
  character: { id: string; slug: string; version: number };
  outfit: string | null;
  references: ReferenceUsed[];
  project: string;
  episode: string;
  scene: string;
  shot: string | null;
  createdAt: string;
}

export interface GenerationResource {
  id: string;
  status: JobStatus;
  /** The step it reached: requested, resolved, submitted, rendered, filed (kept when it failed there). */
  stage: JobStage;
  progress: { value: number; max: number; node: string | null } | null;
  error: JobError | null;
  character: { id: string; slug: string; name: string; version: number | null } | null;
  /** The outfit and reference images the character version contributed (null/[] until resolved). */
  outfit: string | null;
  references: ReferenceUsed[];
  /** The template version it runs and its parameters' values, chosen when it was resolved (null until then). */
  workflow: { slug: string; version: number; params: Record<string, string | number | boolean> } | null;
  request: unknown;
  /** The producing system, and its idempotency key for this generation. */
  source: string;
  requestId: string | null;
  seed: number | null;
  backend: string | null;
  promptId: string | null;
  /** submittedAt: the prompt entered the backend's queue; startedAt: ComfyUI began executing it. */
  attempts: { number: number; backend: string; promptId: string; submittedAt: string; startedAt: string | null; finishedAt: string | null; error: unknown }[];
  assets: AssetResource[];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A ComfyUI backend as `GET /api/v1/backends` shows it. */
export interface BackendResource {
  /** Stable for a URL: a short hash of the normalised URL. */
  id: string;
  url: string;
  /** down: not answering; draining: answering but taking no new job; up: taking jobs. */
  state: 'up' | 'draining' | 'down';
  /** It holds work: a prompt running or queued there, or a job the orchestrator drives on it. */
  busy: boolean;
  /** Prompts the orchestrator drives on it right now. */
  inFlight: number;
  /** ComfyUI's queue_remaining (pending + running), as last seen. */
  queueDepth: number;
  jobsDone: number;
  lastError: string | null;
  lastSeenAt: string | null;
  drainedAt: string | null;
  checkpoints: string[];
  loras: string[];
  ipAdapter: boolean;
}
