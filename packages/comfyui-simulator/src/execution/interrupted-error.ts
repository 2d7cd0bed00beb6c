/** comfy.model_management.InterruptProcessingException: thrown inside a node when /interrupt took effect. */
export class InterruptedError extends Error {
  constructor() {
    super('Processing interrupted');
    this.name = 'InterruptProcessingException';
  }
}
