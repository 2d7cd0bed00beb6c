import type { JobError } from './job-errors';
import type { AssetResource } from './resources';

/**
 * Socket.IO events relayed by the gateway. Names are `subject:past-tense`; an incompatible
 * payload change gets a new name. Every event carries `seq`, increasing per job.
 */
export interface JobEventPayloads {
  'job:queued': { jobId: string };
  /** The prompt entered a backend's queue, as attempt `attempt` (1, then 2… after a failover). */
  'job:submitted': { jobId: string; backend: string; attempt: number };
  /** ComfyUI started executing the prompt (its execution_start). */
  'job:started': { jobId: string; backend: string; attempt?: number };
  'job:progress': { jobId: string; value: number; max: number; node: string | null };
  'job:completed': { jobId: string; assets: AssetResource[] };
  'job:failed': { jobId: string; error: Pick<JobError, 'code' | 'message'> };
  'job:canceled': { jobId: string };
  /**
   * The job runs again: a failed or canceled generation's stage runs again (REST retry, or its stage
   * job was retried), or its backend was lost and the prompt goes to another one; `attempt` is the
   * number the next render attempt gets. A terminal event follows again.
   */
  'job:retrying': { jobId: string; reason: string; attempt?: number };
}
export type JobEventName = keyof JobEventPayloads;
export const JOB_EVENT_NAMES: JobEventName[] = [
  'job:queued',
  'job:submitted',
  'job:started',
  'job:progress',
  'job:completed',
  'job:failed',
  'job:canceled',
  'job:retrying',
];
export const TERMINAL_EVENTS: JobEventName[] = ['job:completed', 'job:failed', 'job:canceled'];

export type JobEventEnvelope<N extends JobEventName = JobEventName> = {
  name: N;
  seq: number;
  payload: JobEventPayloads[N] & { seq: number };
  /** Who asked for the generation: set on lifecycle events, carried onto the generation-events stream. */
  origin?: { source: string; requestId: string | null };
  /** When a worker published it on pub/sub (ms since the epoch): the gateway measures its relay latency from it. */
  publishedAt?: number;
};

/** Redis pub/sub channel (under the queue prefix) on which services publish job events. */
export const jobEventsChannel = (queuePrefix: string) => `${queuePrefix}:job-events`;

/** Client → server messages. */
export const CLIENT_EVENTS = { subscribe: 'subscribe', unsubscribe: 'unsubscribe', opsJoin: 'ops:join', opsLeave: 'ops:leave' } as const;

/** The Socket.IO room of admin clients that receive every job's events (a live wall); joined with `ops:join`. */
export const OPS_ROOM = 'ops';
