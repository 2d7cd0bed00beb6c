import { isJsonObject } from '../json-object';

interface ValidationItem {
  message?: string;
  details?: string;
}

/** An object's fields, or none: a broken server's node_errors may hold null, text or numbers where ComfyUI has objects. */
const fieldsOf = (value: unknown): Record<string, unknown> => (isJsonObject(value) ? value : {});

function messageWithDetails(item: unknown): string {
  const { message = '', details = '' } = fieldsOf(item) as ValidationItem;
  return details && details !== message ? `${message}: ${details}` : message;
}

/**
 * One readable line from a /prompt rejection: each failing node with its class and ComfyUI's own
 * message and details, or the top-level error when no node is to blame (no_prompt, invalid_prompt…).
 * Entries of another shape than ComfyUI's are read as far as they go, never thrown on.
 */
export function summarizeValidation(body: any): string {
  const nodeErrors = fieldsOf(fieldsOf(body).node_errors);
  const nodes = Object.entries(nodeErrors).map(([nodeId, raw]) => {
    const entry = fieldsOf(raw);
    const errors = Array.isArray(entry.errors) ? entry.errors : [];
    const said = errors.map(messageWithDetails).filter((text) => text !== '');
    return `node ${nodeId} (${entry.class_type ?? 'unknown'})${said.length > 0 ? `: ${said.join('; ')}` : ''}`;
  });
  if (nodes.length > 0) return nodes.join('; ');
  // Servers before 2025-04 sent the error as a bare string.
  if (typeof body?.error === 'string') return body.error;
  if (body?.error && typeof body.error === 'object') return messageWithDetails(body.error);
  return 'ComfyUI rejected the prompt without saying why';
}
