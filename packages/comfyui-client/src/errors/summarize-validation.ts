import { isJsonObject } from '../json-object';
import { cut, serverText, WORDS_CHARS } from '../server-text';

/** An object's fields, or none: a broken server's node_errors may hold null, text or numbers where ComfyUI has objects. */
const fieldsOf = (value: unknown): Record<string, unknown> => (isJsonObject(value) ? value : {});

/** ComfyUI's words as text (none when absent), whatever the server put there. */
const words = (value: unknown): string => (value === undefined || value === null ? '' : serverText(value, WORDS_CHARS));

function messageWithDetails(item: unknown): string {
  const { message, details } = fieldsOf(item);
  const said = words(message);
  const more = words(details);
  return more && more !== said ? `${said}: ${more}` : said;
}

/**
 * One readable line from a /prompt rejection: each failing node with its class and ComfyUI's own
 * message and details, or the top-level error when no node is to blame (no_prompt, invalid_prompt…).
 * Entries of another shape than ComfyUI's are read as far as they go, never thrown on; any value
 * is shown as text (serverText), cut short.
 */
export function summarizeValidation(body: any): string {
  const nodeErrors = fieldsOf(fieldsOf(body).node_errors);
  const nodes = Object.entries(nodeErrors).map(([nodeId, raw]) => {
    const entry = fieldsOf(raw);
    const errors = Array.isArray(entry.errors) ? entry.errors : [];
    const said = errors.map(messageWithDetails).filter((text) => text !== '');
    return `node ${cut(nodeId)} (${serverText(entry.class_type ?? 'unknown')})${said.length > 0 ? `: ${said.join('; ')}` : ''}`;
  });
  if (nodes.length > 0) return cut(nodes.join('; '), WORDS_CHARS);
  // Servers before 2025-04 sent the error as a bare string.
  if (typeof body?.error === 'string') return cut(body.error, WORDS_CHARS);
  if (body?.error && typeof body.error === 'object') return messageWithDetails(body.error);
  return 'ComfyUI rejected the prompt without saying why';
}
