/** An API-format workflow as posted: node id → node. Kept loose because the simulator must judge malformed input. */
export type ApiPrompt = Record<string, any>;

export type ExtraData = Record<string, unknown>;

/** One entry of the prompt queue: the tuple ComfyUI keeps, plus the secrets it strips before showing it. */
export interface QueueItem {
  number: number;
  /** A number given in the POST is float()ed (5 → 5.0 in every answer); the server's own counter is an int. */
  numberIsFloat: boolean;
  promptId: string;
  prompt: ApiPrompt;
  extraData: ExtraData;
  outputs: string[];
  sensitive: ExtraData;
}

export type StatusMessage = [string, Record<string, unknown>];

export interface HistoryEntry {
  prompt: [number, string, ApiPrompt, ExtraData, string[]];
  outputs: Record<string, Record<string, unknown>>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: StatusMessage[] };
  meta: Record<string, { node_id: string; display_node: string; parent_node: string | null; real_node_id: string }>;
}

export interface ValidationErrorItem {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

export type NodeErrors = Record<string, { errors: ValidationErrorItem[]; dependent_outputs: string[]; class_type: string }>;

export interface SavedImageRef {
  filename: string;
  subfolder: string;
  type: 'output' | 'temp' | 'input';
}
