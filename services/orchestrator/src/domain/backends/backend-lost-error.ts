/**
 * The abort reason of a lease whose backend went down: its prompt is lost with it. `stuck`: it
 * answers, but its worker runs a prompt that ignored its interrupt, so nothing queued there runs.
 */
export class BackendLostError extends Error {
  readonly name = 'BackendLostError';
  constructor(
    readonly url: string,
    reason: string,
    readonly stuck = false,
  ) {
    super(`backend ${url} went down: ${reason}`);
  }
}
