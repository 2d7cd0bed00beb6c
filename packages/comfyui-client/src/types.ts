/** An API-format workflow: node id → node (see the protocol notes §8). */
export type ApiPrompt = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: { title?: string } }>;

export type StatusMessage = [type: string, data: Record<string, any>];

/** One `/history/{id}` entry. */
export interface HistoryEntry {
  prompt: [number: number, promptId: string, prompt: ApiPrompt, extraData: Record<string, unknown>, outputsToExecute: string[]];
  outputs: Record<string, Record<string, unknown>>;
  status?: { status_str: 'success' | 'error'; completed: boolean; messages: StatusMessage[] } | null;
  meta?: Record<string, unknown>;
}

export interface QueueEntry {
  number: number;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputsToExecute: string[];
}

export interface QueueState {
  running: QueueEntry[];
  pending: QueueEntry[];
}

export interface SubmitOptions {
  /** Our own id for the prompt; ComfyUI keeps it (newer servers require a UUID). */
  promptId?: string;
  extraData?: Record<string, unknown>;
  /** Jump ahead of prompts queued without it. */
  front?: boolean;
}

export interface SubmitResult {
  promptId: string;
  number: number;
}

export interface ProgressEvent {
  promptId: string;
  /** The node reporting steps (usually the sampler). */
  node: string;
  /** The node's class when the prompt is known (run), e.g. "KSampler". */
  classType?: string;
  value: number;
  max: number;
}

export interface FollowOptions {
  /** May be async; it is not awaited, and a rejection is only logged. */
  onProgress?: (progress: ProgressEvent) => void | Promise<void>;
  /**
   * Default false. True: a tick arriving while an earlier one's onProgress is still pending (queued
   * or running) replaces any tick queued behind it, so a slow onProgress sees the latest value, not
   * a backlog; the first tick is never held back.
   */
  latestProgressOnly?: boolean;
  /** Called once, when ComfyUI starts executing the prompt. */
  onStarted?: (info: { promptId: string }) => void | Promise<void>;
  /** Aborting sends a targeted /interrupt (and drops the prompt if still queued), then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Default true. False: aborting only stops following (rejects with the signal's reason) and sends
   * nothing, for a caller that takes the prompt off the server itself and waits for ComfyUI to confirm.
   */
  cancelOnAbort?: boolean;
  /** Safety-net /history polling while nothing arrives over the socket; default 1000 ms. */
  pollIntervalMs?: number;
  /** How long ComfyUI may stay unreachable while following before giving up; default 60 s. */
  unreachableTimeoutMs?: number;
}

export interface RunOptions extends FollowOptions, SubmitOptions {
  /**
   * Called once ComfyUI has queued the prompt: `POST /prompt` answered 200 with no node_errors. Not
   * called when it refused the prompt or the POST got no answer (run rejects then).
   */
  onAccepted?: (accepted: SubmitResult) => void;
}

export interface ResumeOptions extends FollowOptions {
  /** When the server has no trace of the prompt (e.g. it restarted), post this under the same id instead of failing. */
  resubmit?: ApiPrompt;
  extraData?: Record<string, unknown>;
  /**
   * ComfyUI sends a prompt's events only to the socket of the clientId it was sent with. For a
   * prompt queued under another id (another process's, or ours before a restart), a socket is
   * opened under that id while `leases` lend it to this process (see ClientIdWatch). Without
   * leases, such a prompt is followed through /history alone, with no progress.
   */
  leases?: ClientIdLeases;
}

/**
 * Who may listen under a clientId. ComfyUI keeps one socket per id: opening one takes the id's
 * events from any other socket open under it, and closing one unregisters whichever socket holds
 * the id by then. So at most one live process holds an id: its owner while it lives, then at most
 * one process following a prompt sent under it.
 */
export interface ClientIdLeases {
  /** Takes or renews this process's hold on `clientId`: false while another live process holds it (or when unsure). */
  hold(clientId: string): Promise<boolean>;
  /** Gives the hold up, once this process's socket under the id is closed. */
  release(clientId: string): Promise<void>;
}

export interface OutputFile {
  nodeId: string;
  filename: string;
  subfolder: string;
  type: string;
}

export interface RunResult {
  promptId: string;
  /** Every file the output nodes reported, in node order (items without a filename are skipped). */
  outputs: OutputFile[];
  /** True when ComfyUI ran nothing: every output node's result came from its cache. */
  cached: boolean;
  history: HistoryEntry;
}

export interface UploadResult {
  name: string;
  subfolder: string;
  type: string;
}

/** Structural, so a winston logger or console fits. */
export interface ClientLogger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export const SILENT_LOGGER: ClientLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
