export type ApiWorkflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: { title: string } }>;

export interface OutputFile {
  nodeId: string;
  filename: string;
  subfolder: string;
  type: string;
}

export interface HistoryEntry {
  prompt: [number, string, ApiWorkflow, Record<string, unknown>, string[]];
  outputs: Record<string, Record<string, unknown>>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: [string, Record<string, unknown>][] };
  meta?: Record<string, unknown>;
}

export interface RunResult {
  promptId: string;
  outputs: OutputFile[];
  /** True when ComfyUI answered from its cache (the files were written by an earlier run). */
  cached: boolean;
  history: HistoryEntry;
}

export interface Progress {
  value: number;
  max: number;
  node: string | null;
}

export interface FollowOptions {
  onProgress?: (progress: Progress) => void | Promise<void>;
  onStarted?: () => void | Promise<void>;
  signal?: AbortSignal;
  /** Safety-net poll of /history for frames the WebSocket missed. */
  pollIntervalMs?: number;
}

export interface SubmitOptions extends FollowOptions {
  promptId: string;
  extraData?: Record<string, unknown>;
  front?: boolean;
}

export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}
