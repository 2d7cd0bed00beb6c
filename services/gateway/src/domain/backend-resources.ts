import type { BackendResource } from '@anime/contracts';
import type { Db } from '@anime/db';
import { redactUrlCredentialsInText } from '@anime/logger';

type BackendRow = NonNullable<Awaited<ReturnType<Db['backend']['findFirst']>>>;

const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);

/**
 * A `backends` row (written by the orchestrator) in its public shape; draining shows only while it answers.
 * The row keeps COMFYUI_URLS' entry as it is (the orchestrators send its credentials); a `read` key sees it without them.
 */
export function toBackendResource(row: BackendRow): BackendResource {
  return {
    id: row.id,
    url: redactUrlCredentialsInText(row.url),
    state: row.state !== 'up' ? 'down' : row.draining ? 'draining' : 'up',
    busy: row.busy,
    inFlight: row.inFlight,
    queueDepth: row.queueDepth,
    jobsDone: row.jobsDone,
    lastError: row.lastError === null ? null : redactUrlCredentialsInText(row.lastError),
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    drainedAt: row.drainedAt?.toISOString() ?? null,
    checkpoints: strings(row.checkpoints),
    loras: strings(row.loras),
    ipAdapter: row.ipAdapter,
  };
}
