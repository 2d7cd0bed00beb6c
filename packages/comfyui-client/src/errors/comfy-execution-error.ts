import { optionalServerText, serverText, WORDS_CHARS } from '../server-text';

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
    super(serverText(details.exception_message ?? 'ComfyUI reported an execution error', WORDS_CHARS).trimEnd() || withoutMessage(details));
    this.nodeId = optionalServerText(details.node_id);
    this.nodeType = optionalServerText(details.node_type);
    this.exceptionType = optionalServerText(details.exception_type);
  }
}

/**
 * ComfyUI's exception_message is str(ex): empty for a bare `assert` (AssertionError) or `raise
 * Exception()`, which left the job's error with no message at all. The exception's type and node say what failed.
 */
function withoutMessage(details: Record<string, any>): string {
  const where = details.node_type ? ` in node ${serverText(details.node_id)} (${serverText(details.node_type)})` : '';
  return `ComfyUI reported ${details.exception_type ? serverText(details.exception_type) : 'an exception'}${where} with no message`;
}
