interface ValidationItem {
  message?: string;
  details?: string;
}

function messageWithDetails({ message = '', details = '' }: ValidationItem): string {
  return details && details !== message ? `${message}: ${details}` : message;
}

/**
 * One readable line from a /prompt rejection: each failing node with its class and ComfyUI's own
 * message and details, or the top-level error when no node is to blame (no_prompt, invalid_prompt…).
 */
export function summarizeValidation(body: any): string {
  const nodeErrors: Record<string, { class_type?: string; errors?: ValidationItem[] }> =
    body?.node_errors && typeof body.node_errors === 'object' && !Array.isArray(body.node_errors) ? body.node_errors : {};
  const nodes = Object.entries(nodeErrors).map(
    ([nodeId, entry]) => `node ${nodeId} (${entry.class_type ?? 'unknown'}): ${(entry.errors ?? []).map(messageWithDetails).join('; ')}`,
  );
  if (nodes.length > 0) return nodes.join('; ');
  // Servers before 2025-04 sent the error as a bare string.
  if (typeof body?.error === 'string') return body.error;
  if (body?.error && typeof body.error === 'object') return messageWithDetails(body.error);
  return 'ComfyUI rejected the prompt without saying why';
}
