import { randomUUID } from 'node:crypto';
import axios from 'axios';
import type { AxiosResponse } from 'axios';
import { io, type Socket } from 'socket.io-client';
import { mapLimit, withTimeout } from './waits';

export interface JobRun {
  id: string;
  submittedAt: number;
  /** When a Socket.IO client received `job:completed` (epoch ms, fractional). */
  completedAt: number;
}

/** A run with what the gateway says of it afterwards: which backend ran it under which prompt id. */
export interface DescribedRun extends JobRun {
  backend: string;
  promptId: string;
}

/** A `job:progress` as the client received it. */
export interface ReceivedProgress {
  jobId: string;
  node: string | null;
  value: number;
  max: number;
  receivedAt: number;
}

export interface RunOptions {
  count: number;
  steps: number;
  /** Jobs in flight at once: 1 runs them one after another, `count` submits a backlog at once. */
  inFlight: number;
  /** POSTs (with their subscriptions) in flight at once. */
  submitConcurrency: number;
  /**
   * The longest the run may go without a job completing (from its start, then from each
   * completion): a stalled pipeline fails the bench instead of hanging it, however long the backlog.
   */
  timeoutMs: number;
  /** Called after each completion with how many have completed (the soak samples memory from it). */
  onCompleted?: (done: number) => void | Promise<void>;
}

export interface RunResult {
  runs: JobRun[];
  progress: ReceivedProgress[];
  /** POSTs answered 5xx (or not at all) and retried under the same x-request-id, by status. */
  retried: Record<string, number>;
}

/** Tries of one POST: a 5xx is retried under the same x-request-id, which the gateway deduplicates. */
const POST_TRIES = 5;

const REQUEST = { character: 'kai-nakamura', prompt: 'benchmark frame', project: 'bench', width: 64, height: 64 };
const REQUEST_TIMEOUT_MS = 30_000;
export const now = () => performance.timeOrigin + performance.now();

export function gatewayApi(gatewayUrl: string, apiKey: string) {
  return axios.create({ baseURL: gatewayUrl, timeout: REQUEST_TIMEOUT_MS, validateStatus: () => true, headers: { Authorization: `Bearer ${apiKey}` } });
}

async function connect(gatewayUrl: string, apiKey: string): Promise<Socket> {
  const socket = io(gatewayUrl, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: apiKey } });
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    }),
    10_000,
    'the Socket.IO connection to the gateway',
  ).catch((error) => {
    socket.close();
    throw error;
  });
  return socket;
}

/**
 * Submits `count` generations through REST, at most `inFlight` unfinished at once, and waits for
 * every `job:completed` on one Socket.IO connection, as a studio client would. Every wait is bounded.
 */
export async function runJobs(gatewayUrl: string, apiKey: string, options: RunOptions): Promise<RunResult> {
  const api = gatewayApi(gatewayUrl, apiKey);
  const socket = await connect(gatewayUrl, apiKey);
  // A job may end before its subscription is acknowledged: outcomes are kept until claimed.
  const waiting = new Map<string, (outcome: number | Error) => void>();
  const early = new Map<string, number | Error>();
  const progress: ReceivedProgress[] = [];
  const retried: Record<string, number> = {};
  const settle = (jobId: string, outcome: number | Error) => {
    const claim = waiting.get(jobId);
    if (claim) claim(outcome);
    else early.set(jobId, outcome);
  };
  let lost: Error | undefined;
  socket.on('disconnect', (reason) => {
    lost = new Error(`the Socket.IO connection to the gateway dropped (${reason})`);
    for (const claim of waiting.values()) claim(lost);
  });
  socket.on('job:completed', ({ jobId }: { jobId: string }) => settle(jobId, now()));
  socket.on('job:failed', ({ jobId, error }: { jobId: string; error: { message: string } }) => settle(jobId, new Error(`generation ${jobId} failed: ${error.message}`)));
  socket.on('job:progress', ({ jobId, node, value, max }: Omit<ReceivedProgress, 'receivedAt'>) => progress.push({ jobId, node, value, max, receivedAt: now() }));

  const runs: JobRun[] = [];
  let next = 0;
  let unfinished = 0;
  let failure: Error | undefined;
  const slotFreed: (() => void)[] = [];
  const freeSlot = () => {
    unfinished--;
    slotFreed.shift()?.();
  };

  /** POST and subscribe; resolves to the job's completion, still pending. */
  const submit = async (): Promise<{ id: string; submittedAt: number; completed: Promise<number> }> => {
    const submittedAt = now();
    // A studio client retries what the server could not do (e.g. a transaction that did not start
    // in time under the burst) under the same request id: (source, requestId) makes it one job.
    const headers = { 'x-request-id': `bench-${randomUUID()}` };
    let res: AxiosResponse | undefined;
    for (let tryNo = 1; ; tryNo++) {
      const answer: AxiosResponse | Error = await api.post('/api/v1/generations', { ...REQUEST, steps: options.steps }, { headers }).catch((error: Error) => error);
      const status = answer instanceof Error ? 'no answer' : answer.status;
      if (!(answer instanceof Error) && answer.status < 500) {
        res = answer;
        break;
      }
      if (tryNo >= POST_TRIES) throw new Error(`POST /api/v1/generations answered ${status} ${POST_TRIES} times: ${answer instanceof Error ? answer.message : JSON.stringify(answer.data)}`);
      retried[status] = (retried[status] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** tryNo));
    }
    if (res.status !== 202) throw new Error(`POST /api/v1/generations answered ${res.status}: ${JSON.stringify(res.data)}`);
    const id = res.data.id as string;
    const completed = new Promise<number>((resolve, reject) => {
      const done = (outcome: number | Error) => {
        waiting.delete(id);
        early.delete(id);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      if (lost) done(lost);
      else if (early.has(id)) done(early.get(id)!);
      else waiting.set(id, done);
    });
    completed.catch(() => undefined);
    const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { jobId: id })) as { ok: boolean; error?: { code: string; message: string } };
    if (!ack.ok) throw new Error(`subscribe to ${id} refused: ${ack.error?.code}: ${ack.error?.message}`);
    return { id, submittedAt, completed };
  };

  const fail = (error: Error) => {
    failure ??= error;
    for (const wake of slotFreed.splice(0)) wake();
    // The run is lost: nothing else is waited for.
    for (const claim of [...waiting.values()]) claim(failure);
  };
  // Each submitter has one POST in flight at a time; a job holds its in-flight slot until it completed.
  const submitter = async (): Promise<void> => {
    const own: Promise<void>[] = [];
    while (next < options.count && !failure) {
      if (unfinished >= options.inFlight) {
        await new Promise<void>((resolve) => slotFreed.push(resolve));
        continue;
      }
      next++;
      unfinished++;
      try {
        const job = await submit();
        own.push(
          job.completed
            .then(async (completedAt) => {
              lastCompletion = now();
              socket.emit('unsubscribe', { jobId: job.id });
              runs.push({ id: job.id, submittedAt: job.submittedAt, completedAt });
              await options.onCompleted?.(runs.length);
            })
            .catch(fail)
            .finally(freeSlot),
        );
      } catch (error) {
        fail(error as Error);
        freeSlot();
      }
    }
    await Promise.all(own);
  };

  let lastCompletion = now();
  const watchdog = setInterval(() => {
    if (now() - lastCompletion > options.timeoutMs) {
      fail(new Error(`no generation completed for ${(options.timeoutMs / 1000).toFixed(0)} s (${runs.length} of ${options.count} done, ${unfinished} unfinished): the pipeline stalled`));
    }
  }, 1_000);
  try {
    await Promise.all(Array.from({ length: Math.min(options.submitConcurrency, options.count) }, submitter));
    if (failure) throw failure;
    return { runs, progress, retried };
  } finally {
    clearInterval(watchdog);
    socket.close();
  }
}

/** The backend and prompt id of each run, read from the gateway after the measuring window (so they cost it nothing). */
export async function describeRuns(gatewayUrl: string, apiKey: string, runs: JobRun[]): Promise<DescribedRun[]> {
  const api = gatewayApi(gatewayUrl, apiKey);
  return mapLimit(runs, 16, async (run) => {
    const res = await api.get(`/api/v1/generations/${run.id}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/generations/${run.id} answered ${res.status}`);
    return { ...run, backend: res.data.backend as string, promptId: res.data.promptId as string };
  });
}
