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
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { type, data } = parsed as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || !(KNOWN_MESSAGE_TYPES as readonly string[]).includes(type)) return undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return { type: type as ComfyMessageType, data: data as Record<string, any> };
}
