import axios from 'axios';
import type { DescribedRun, ReceivedProgress } from './run-jobs';
import { mapLimit } from './waits';

export interface PromptTiming {
  backend: string;
  promptId: string;
  /** ComfyUI's own clock (ms since epoch) from the history's status messages. */
  startedAt: number;
  finishedAt: number;
}

const READ_TIMEOUT_MS = 30_000;

/**
 * When the backend itself started and finished a prompt: `execution_start` and
 * `execution_success` in `/history/{id}` status messages (comfyui-protocol.md §3).
 */
export async function promptTiming(backend: string, promptId: string): Promise<PromptTiming> {
  const { data } = await axios.get(`${backend}/history/${promptId}`, { timeout: READ_TIMEOUT_MS });
  const messages: [string, { timestamp?: number }][] = data[promptId]?.status?.messages ?? [];
  const at = (type: string) => messages.find(([name]) => name === type)?.[1].timestamp;
  const startedAt = at('execution_start');
  const finishedAt = at('execution_success');
  if (startedAt === undefined || finishedAt === undefined) throw new Error(`prompt ${promptId} on ${backend} has no start/success timestamps`);
  return { backend, promptId, startedAt, finishedAt };
}

export function promptTimings(runs: DescribedRun[]): Promise<PromptTiming[]> {
  return mapLimit(runs, 16, (r) => promptTiming(r.backend, r.promptId));
}

/** Per backend, the time it sat idle between finishing one prompt and starting the next. */
export function idleGaps(timings: PromptTiming[]): number[] {
  const byBackend = new Map<string, PromptTiming[]>();
  for (const t of timings) byBackend.set(t.backend, [...(byBackend.get(t.backend) ?? []), t]);
  const gaps: number[] = [];
  for (const list of byBackend.values()) {
    list.sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < list.length; i++) gaps.push(Math.max(0, list[i].startedAt - list[i - 1].finishedAt));
  }
  return gaps;
}

/** A `progress` message as the simulator recorded sending it (GET /sim/progress). */
export interface SentProgress {
  promptId: string;
  node: string;
  value: number;
  max: number;
  /** Epoch ms, fractional. */
  sentAt: number;
}

export async function sentProgress(backend: string): Promise<SentProgress[]> {
  const { data } = await axios.get<{ progress: SentProgress[] }>(`${backend}/sim/progress`, { timeout: READ_TIMEOUT_MS });
  return data.progress;
}

/**
 * Each `job:progress` the client received, matched to the simulator's `progress` message of the
 * same prompt, node, value and max: the latency from one to the other. Ticks the pipeline
 * collapsed (only the latest value matters) are simply not received: `sent` counts them all.
 */
export function progressLatencies(runs: DescribedRun[], sent: SentProgress[], received: ReceivedProgress[]): { latencies: number[]; sent: number; received: number } {
  const promptOf = new Map(runs.map((r) => [r.id, r.promptId]));
  const prompts = new Set(promptOf.values());
  const key = (promptId: string, node: string | null, value: number, max: number) => `${promptId}|${node}|${value}|${max}`;
  const sentAt = new Map<string, number>();
  for (const s of sent) if (prompts.has(s.promptId)) sentAt.set(key(s.promptId, s.node, s.value, s.max), s.sentAt);
  const latencies: number[] = [];
  for (const r of received) {
    const promptId = promptOf.get(r.jobId);
    const at = promptId === undefined ? undefined : sentAt.get(key(promptId, r.node, r.value, r.max));
    if (at !== undefined) latencies.push(r.receivedAt - at);
  }
  return { latencies, sent: sentAt.size, received: latencies.length };
}
