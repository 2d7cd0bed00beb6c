/** The backend knows nothing of a prompt we recorded (it restarted, or the POST never landed). */
export class ComfyPromptLostError extends Error {
  constructor(readonly promptId: string) {
    super(`prompt ${promptId} is neither in the backend's history nor in its queue`);
    this.name = 'ComfyPromptLostError';
  }
}
