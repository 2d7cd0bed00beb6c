/** The abort reason of a lease whose backend went down: its prompt is lost with it. */
export class BackendLostError extends Error {
  readonly name = 'BackendLostError';
  constructor(readonly url: string, reason: string) {
    super(`backend ${url} went down: ${reason}`);
  }
}
