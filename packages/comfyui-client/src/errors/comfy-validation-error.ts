/** ComfyUI's 400 body for a refused prompt (comfyui-protocol.md §3.3). */
export interface ComfyErrorBody {
  error?: { type?: string; message?: string; details?: string; extra_info?: unknown } | string;
  node_errors?: Record<string, { class_type?: string; errors?: { type?: string; message?: string; details?: string }[]; dependent_outputs?: string[] }> | unknown[];
}

/** ComfyUI refused the prompt: HTTP 400, or a 200 whose `node_errors` is not empty. */
export class ComfyValidationError extends Error {
  readonly type: string;
  /** One readable line per failing node: `node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name: ...`. */
  readonly summary: string;

  constructor(readonly body: ComfyErrorBody) {
    const summary = summarizeValidation(body);
    super(summary);
    this.name = 'ComfyValidationError';
    this.summary = summary;
    this.type = typeof body.error === 'object' && body.error?.type ? body.error.type : 'invalid_prompt';
  }
}

export function summarizeValidation(body: ComfyErrorBody): string {
  const nodeErrors = body.node_errors && !Array.isArray(body.node_errors) ? body.node_errors : {};
  const lines: string[] = [];
  for (const [nodeId, nodeError] of Object.entries(nodeErrors)) {
    for (const e of nodeError.errors ?? []) {
      lines.push(`node ${nodeId} (${nodeError.class_type ?? 'unknown'}): ${e.message ?? e.type ?? 'error'}${e.details ? `: ${e.details}` : ''}`);
    }
  }
  if (lines.length) return lines.join('; ');
  if (typeof body.error === 'string') return body.error;
  const message = body.error?.message ?? 'ComfyUI refused the prompt';
  return body.error?.details ? `${message}: ${body.error.details}` : message;
}
