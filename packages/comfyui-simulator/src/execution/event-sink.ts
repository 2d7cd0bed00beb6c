/** Where the executor's WebSocket events go; `sid` null means every socket. */
export interface EventSink {
  send(event: string, data: unknown, sid: string | null): void;
  /** A binary frame (a latent preview), to one client id or every socket. */
  sendBytes(frame: Buffer, sid: string | null): void;
  /** Whether the client id's socket negotiated a feature (supports_preview_metadata) in its first message. */
  supportsFeature(sid: string | null, name: string): boolean;
  /** The client that owns the running prompt and the node it is on, for replay to a reconnecting socket. */
  setExecution(clientId: string | null, lastNodeId: string | null): void;
}
