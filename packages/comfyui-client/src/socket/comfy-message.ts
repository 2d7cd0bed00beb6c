import { parseComfyJson } from '../parse-comfy-json';

/**
 * The JSON event types ComfyUI core sends over /ws that a client uses; anything else (custom nodes,
 * progress_state: every node's state, see ComfySocket) is dropped.
 */
export const KNOWN_MESSAGE_TYPES = [
  'status',
  'feature_flags',
  'execution_start',
  'execution_cached',
  'executing',
  'progress',
  'executed',
  'execution_success',
  'execution_error',
  'execution_interrupted',
] as const;

export type ComfyMessageType = (typeof KNOWN_MESSAGE_TYPES)[number];

export interface ComfyMessage {
  type: ComfyMessageType;
  data: Record<string, any>;
}

/** A text frame as a known message, or undefined for bad JSON, odd shapes and unknown types. */
export function parseComfyMessage(text: string): ComfyMessage | undefined {
  // A string back means the text is not JSON, not even with Python's NaN read as null.
  const parsed = parseComfyJson(text);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { type, data } = parsed as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || !(KNOWN_MESSAGE_TYPES as readonly string[]).includes(type)) return undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return { type: type as ComfyMessageType, data: data as Record<string, any> };
}
