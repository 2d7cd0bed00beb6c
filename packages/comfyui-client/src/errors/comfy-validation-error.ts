import { cut } from '../server-text';
import { summarizeValidation } from './summarize-validation';

/** ComfyUI refused the prompt (HTTP 400, or 200 with node_errors). Not worth retrying unchanged. */
export class ComfyValidationError extends Error {
  readonly name = 'ComfyValidationError';
  /** error.type: no_prompt, invalid_prompt, prompt_no_outputs, prompt_outputs_failed_validation… */
  readonly type: string;
  readonly summary: string;

  constructor(
    /** The response body exactly as ComfyUI sent it. */
    readonly body: any,
    /** Set when ComfyUI queued the prompt anyway (200 with node_errors). */
    readonly promptId?: string,
  ) {
    const type = cut(typeof body?.error?.type === 'string' ? body.error.type : typeof body?.error === 'string' ? body.error : 'node_errors');
    const summary = summarizeValidation(body);
    super(`ComfyUI rejected the prompt (${type}): ${summary}`);
    this.type = type;
    this.summary = summary;
  }

  get nodeErrors(): Record<string, { errors: unknown[]; dependent_outputs: string[]; class_type: string }> {
    return this.body?.node_errors ?? {};
  }
}
