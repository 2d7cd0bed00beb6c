/** A node raised while the prompt ran (ComfyUI's execution_error). */
export class ComfyExecutionError extends Error {
  readonly name = 'ComfyExecutionError';
  readonly nodeId?: string;
  readonly nodeType?: string;
  readonly exceptionType?: string;

  constructor(
    readonly promptId: string,
    /** The execution_error event (or its copy in history) as ComfyUI sent it. */
    readonly details: Record<string, any>,
  ) {
    // ComfyUI's message ends with "\n" plus optional tips; the trailing whitespace carries nothing.
    super(String(details.exception_message ?? 'ComfyUI reported an execution error').trimEnd());
    this.nodeId = details.node_id;
    this.nodeType = details.node_type;
    this.exceptionType = details.exception_type;
  }
}
