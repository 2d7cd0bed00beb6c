/** The prompt is in neither the queue nor the history: deleted, never accepted, or lost with a restart. */
export class ComfyPromptLostError extends Error {
  readonly name = 'ComfyPromptLostError';

  constructor(
    readonly promptId: string,
    reason: string,
  ) {
    super(`ComfyUI prompt ${promptId} ${reason}`);
  }
}
