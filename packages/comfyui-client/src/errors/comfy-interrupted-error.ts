/** The prompt was interrupted (`/interrupt`, or `execution_interrupted` seen). */
export class ComfyInterruptedError extends Error {
  constructor(readonly promptId: string) {
    super(`prompt ${promptId} was interrupted`);
    this.name = 'ComfyInterruptedError';
  }
}
