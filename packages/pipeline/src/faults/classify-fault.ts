import {
  ComfyExecutionError,
  ComfyHttpError,
  ComfyInterruptedError,
  ComfyPromptLostError,
  ComfyTransferError,
  ComfyUnreachableError,
  ComfyValidationError,
} from '@anime/comfyui-client';
import { CharacterDomainError, type CharacterErrorCode } from '@anime/characters';
import type { JobError, QueueKey } from '@anime/contracts';
import { isDatabaseUnavailable } from '@anime/db';
import { redactUrlCredentialsInText } from '@anime/logger';
import {
  MalformedDataError,
  NoCapableBackendError,
  OutputUnreadableError,
  PromptTimedOutError,
  ReferenceUnavailableError,
  RequestUnsatisfiableError,
  WorkflowNotFoundError,
} from './stage-faults';
import { storableDetails } from './storable-job-error';

/**
 * What a fault means for its generation: the job error it fails with, and whether trying the
 * stage again (BullMQ backoff, within the queue's retry policy) may succeed first.
 */
export interface ClassifiedFault {
  error: JobError;
  transient: boolean;
  /** PostgreSQL is away: nobody's fault, and no failure can be recorded until it is back. */
  databaseUnavailable?: boolean;
}

type FaultKind =
  | 'comfy_validation'
  | 'comfy_execution'
  | 'comfy_unreachable'
  | 'comfy_transfer'
  | 'comfy_refused'
  | 'comfy_interrupted'
  | 'comfy_prompt_lost'
  | 'character_not_found'
  | 'character_archived'
  | 'outfit_not_found'
  | 'request_unsatisfiable'
  | 'reference_unavailable'
  | 'workflow_not_found'
  | 'no_capable_backend'
  | 'timeout'
  | 'output_unreadable'
  | 'malformed_data'
  | 'database_unavailable'
  | 'unknown';

function characterFaultKind(code: CharacterErrorCode): FaultKind {
  switch (code) {
    case 'character_not_found':
    case 'character_ambiguous':
    case 'version_not_found':
      return 'character_not_found';
    case 'character_archived':
      return 'character_archived';
    case 'outfit_not_found':
      return 'outfit_not_found';
    case 'references_unavailable':
      return 'request_unsatisfiable';
    // Only version and reference writers throw these; a stage never writes either.
    case 'too_many_references':
    case 'too_many_versions':
    case 'validation_failed':
      return 'malformed_data';
  }
}

function kindOf(error: unknown): FaultKind {
  if (error instanceof ComfyValidationError) return 'comfy_validation';
  if (error instanceof ComfyExecutionError) return 'comfy_execution';
  if (error instanceof ComfyUnreachableError) return 'comfy_unreachable';
  if (error instanceof ComfyTransferError) return 'comfy_transfer';
  if (error instanceof ComfyHttpError) return 'comfy_refused';
  if (error instanceof ComfyInterruptedError) return 'comfy_interrupted';
  if (error instanceof ComfyPromptLostError) return 'comfy_prompt_lost';
  if (error instanceof ReferenceUnavailableError) return 'reference_unavailable';
  if (error instanceof WorkflowNotFoundError) return 'workflow_not_found';
  if (error instanceof RequestUnsatisfiableError) return 'request_unsatisfiable';
  if (error instanceof NoCapableBackendError) return 'no_capable_backend';
  if (error instanceof PromptTimedOutError) return 'timeout';
  if (error instanceof OutputUnreadableError) return 'output_unreadable';
  if (error instanceof MalformedDataError) return 'malformed_data';
  if (error instanceof CharacterDomainError) return characterFaultKind(error.code);
  // Last: its socket errnos would also match a ComfyUI connection refused, classified above.
  if (isDatabaseUnavailable(error)) return 'database_unavailable';
  return 'unknown';
}

// A message may quote a backend's URL, which COMFYUI_URLS may give a password: the job error is shown to
// every reader of the generation, in its events and on the generation-events stream.
const messageOf = (error: unknown) => redactUrlCredentialsInText(error instanceof Error ? error.message : String(error));
const detailsOf = (error: unknown) => withoutUrlCredentials((error as { details?: unknown })?.details);

/**
 * JSON details (no_capable_backend's list names each backend by URL) with no URL's credentials.
 * Details JSON cannot write (a ComfyUI error's, nested past the call stack: a RangeError, which
 * would be taken for an internal fault and tried again) are first cut as they will be stored.
 */
function withoutUrlCredentials(details: unknown): unknown {
  if (details === undefined || details === null) return details;
  let json: string | undefined;
  try {
    json = JSON.stringify(details);
  } catch {
    details = storableDetails(details);
    json = JSON.stringify(details);
  }
  return json?.includes('@') ? JSON.parse(redactUrlCredentialsInText(json)) : details;
}

// Enough of a refusal's body to say why; a /view answer comes as bytes, which would be stored as { type: 'Buffer', data }.
const REFUSAL_BODY_CHARS = 2_000;

/** ComfyUI refused a request: its status, the request, and its answer (as text when it came as bytes). */
function refusalDetails(error: ComfyHttpError): Record<string, unknown> {
  const raw = error.body;
  const body = Buffer.isBuffer(raw) || raw instanceof ArrayBuffer ? Buffer.from(raw as Buffer).toString('utf8').slice(0, REFUSAL_BODY_CHARS) : raw;
  return { status: error.status, request: `${error.method} ${error.path}`, ...(body === undefined || body === null || body === '' ? {} : { body }) };
}

/**
 * The one mapping from a fault to the job error code a generation fails with. Exhaustive: a new
 * fault kind does not compile until it is given a code here.
 */
export function classifyFault(error: unknown, queue: QueueKey): ClassifiedFault {
  const kind = kindOf(error);
  const message = messageOf(error);
  const permanent = (code: JobError['code'], details?: unknown): ClassifiedFault => ({
    error: { code, message, ...(details === undefined ? {} : { details }) },
    transient: false,
  });
  switch (kind) {
    case 'comfy_validation':
      return { error: { code: 'comfyui_validation', message: (error as ComfyValidationError).summary, details: (error as ComfyValidationError).body }, transient: false };
    case 'comfy_execution':
      return permanent('comfyui_execution', detailsOf(error));
    case 'comfy_interrupted':
      // Someone else's /interrupt (ours is a timeout or a cancel, recognised before this).
      return permanent('comfyui_execution', detailsOf(error));
    case 'comfy_unreachable':
    case 'comfy_prompt_lost':
    // A file that stalled or came too slowly: the next try may find a faster link or an idler server.
    case 'comfy_transfer':
      // While filing, a backend that cannot serve /view fails the filing, not the render.
      return { error: { code: queue === 'assetFiling' ? 'filing_failed' : 'comfyui_unreachable', message }, transient: true };
    case 'comfy_refused':
      return { error: { code: queue === 'assetFiling' ? 'filing_failed' : 'comfyui_unreachable', message, details: refusalDetails(error as ComfyHttpError) }, transient: false };
    case 'character_not_found':
      return permanent('character_not_found', detailsOf(error));
    case 'character_archived':
      return permanent('character_archived', detailsOf(error));
    case 'outfit_not_found':
      return permanent('outfit_not_found', detailsOf(error));
    case 'reference_unavailable':
      return permanent('reference_unavailable', detailsOf(error));
    case 'request_unsatisfiable':
      // The request asks what its character cannot give (e.g. required references it has none of).
      return permanent('invalid_request', detailsOf(error));
    case 'workflow_not_found':
      return permanent('workflow_not_found', detailsOf(error));
    case 'no_capable_backend':
      return permanent('no_capable_backend', detailsOf(error));
    case 'timeout':
      return permanent('timeout');
    case 'output_unreadable':
      return permanent('filing_failed');
    case 'malformed_data':
      return permanent('invalid_request');
    case 'database_unavailable':
      return { error: { code: queue === 'assetFiling' ? 'filing_failed' : 'internal', message }, transient: true, databaseUnavailable: true };
    case 'unknown':
      // A database blip, a full disk, a bug: worth the queue's retries, then reported as such.
      return { error: { code: queue === 'assetFiling' ? 'filing_failed' : 'internal', message }, transient: true };
    default: {
      const unhandled: never = kind;
      throw new Error(`fault kind ${String(unhandled)} has no job error code`);
    }
  }
}
