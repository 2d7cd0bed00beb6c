/** Where the executor's WebSocket events go; `sid` null means every socket. */
export interface EventSink {
  send(event: string, data: unknown, sid: string | null): void;
  /** The client that owns the running prompt and the node it is on, for replay to a reconnecting socket. */
  setExecution(clientId: string | null, lastNodeId: string | null): void;
}
