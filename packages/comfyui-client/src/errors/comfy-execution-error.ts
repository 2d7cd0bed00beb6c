/** The `execution_error` event of a prompt (comfyui-protocol.md §6.2). */
export interface ExecutionErrorEvent {
  prompt_id: string;
  node_id?: string;
  node_type?: string;
  exception_message?: string;
  exception_type?: string;
  traceback?: string[];
  [key: string]: unknown;
}

/** A node raised while the prompt ran; the message is ComfyUI's own `exception_message`. */
export class ComfyExecutionError extends Error {
  readonly nodeId?: string;
  readonly nodeType?: string;
  readonly exceptionType?: string;

  constructor(readonly details: ExecutionErrorEvent) {
    super((details.exception_message ?? 'execution failed').trim());
    this.name = 'ComfyExecutionError';
    this.nodeId = details.node_id;
    this.nodeType = details.node_type;
    this.exceptionType = details.exception_type;
  }
}
