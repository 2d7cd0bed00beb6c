/** How the gateway's HTTP edge treats slow clients and other origins (from the HTTP_*, CORS_ORIGINS and ALLOWED_HOSTS variables). */
export interface EdgeSettings {
  /** Time a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body, on every route but the uploads. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** Time a client has to send a whole request on the upload routes (see UPLOAD_ROUTES). */
  uploadTimeoutMs: number;
  /** Browser origins allowed to call the API, as `URL.origin`; empty allows none but the gateway's own. */
  corsOrigins: string[];
  /** Host names (or `host:port`) the gateway answers for; empty accepts any Host. */
  allowedHosts: string[];
}

export const DEFAULT_EDGE_SETTINGS: EdgeSettings = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  uploadTimeoutMs: 300_000,
  corsOrigins: [],
  allowedHosts: [],
};
