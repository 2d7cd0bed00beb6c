import axios from 'axios';
import { io } from 'socket.io-client';

export interface JobRun {
  id: string;
  submittedAt: number;
  /** When a Socket.IO client received `job:completed`. */
  completedAt: number;
  backend: string;
  promptId: string;
}

const REQUEST = { character: 'kai-nakamura', prompt: 'benchmark frame', project: 'bench', width: 64, height: 64 };

/**
 * Submits `count` generations (all at once, or each after the previous one ended) and waits for
 * every `job:completed` on one Socket.IO connection, as a studio client would.
 */
export async function runJobs(gatewayUrl: string, apiKey: string, options: { count: number; steps: number; sequential: boolean; timeoutMs: number }): Promise<JobRun[]> {
  const api = axios.create({ baseURL: gatewayUrl, validateStatus: () => true, headers: { Authorization: `Bearer ${apiKey}` } });
  const socket = io(gatewayUrl, { transports: ['websocket'], forceNew: true, auth: { token: apiKey } });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  // A job may end before its subscription is acknowledged: outcomes are kept until claimed.
  const waiting = new Map<string, (outcome: number | Error) => void>();
  const early = new Map<string, number | Error>();
  const settle = (jobId: string, outcome: number | Error) => {
    const claim = waiting.get(jobId);
    if (claim) claim(outcome);
    else early.set(jobId, outcome);
  };
  socket.on('job:completed', ({ jobId }: { jobId: string }) => settle(jobId, performance.timeOrigin + performance.now()));
  socket.on('job:failed', ({ jobId, error }: { jobId: string; error: { message: string } }) => settle(jobId, new Error(`generation ${jobId} failed: ${error.message}`)));

  const submitOne = async () => {
    const submittedAt = performance.timeOrigin + performance.now();
    const res = await api.post('/api/v1/generations', { ...REQUEST, steps: options.steps });
    if (res.status !== 202) throw new Error(`POST /api/v1/generations answered ${res.status}: ${JSON.stringify(res.data)}`);
    const id = res.data.id as string;
    const completed = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generation ${id} did not complete in ${options.timeoutMs} ms`)), options.timeoutMs);
      const done = (outcome: number | Error) => {
        clearTimeout(timer);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      if (early.has(id)) done(early.get(id)!);
      else waiting.set(id, done);
    });
    completed.catch(() => undefined);
    const ack = (await socket.timeout(10_000).emitWithAck('subscribe', { jobId: id })) as { ok: boolean; error?: { code: string; message: string } };
    if (!ack.ok) throw new Error(`subscribe to ${id} refused: ${ack.error?.code}: ${ack.error?.message}`);
    // A connection follows at most SOCKET_MAX_SUBSCRIPTIONS jobs at once: an ended job's slot is given back.
    completed.then(() => socket.emit('unsubscribe', { jobId: id }), () => undefined);
    return { id, submittedAt, completed };
  };

  try {
    const started: { id: string; submittedAt: number; completed: Promise<number> }[] = [];
    for (let i = 0; i < options.count; i++) {
      const job = await submitOne();
      started.push(job);
      if (options.sequential) await job.completed;
    }
    const runs: JobRun[] = [];
    for (const job of started) {
      const completedAt = await job.completed;
      const { data } = await api.get(`/api/v1/generations/${job.id}`);
      runs.push({ id: job.id, submittedAt: job.submittedAt, completedAt, backend: data.backend, promptId: data.promptId });
    }
    return runs;
  } finally {
    socket.close();
  }
}
