import axios from 'axios';

export interface PromptTiming {
  backend: string;
  promptId: string;
  /** ComfyUI's own clock (ms since epoch) from the history's status messages. */
  startedAt: number;
  finishedAt: number;
}

/**
 * When the backend itself started and finished a prompt: `execution_start` and
 * `execution_success` in `/history/{id}` status messages (comfyui-protocol.md §3).
 */
export async function promptTiming(backend: string, promptId: string): Promise<PromptTiming> {
  const { data } = await axios.get(`${backend}/history/${promptId}`);
  const messages: [string, { timestamp?: number }][] = data[promptId]?.status?.messages ?? [];
  const at = (type: string) => messages.find(([name]) => name === type)?.[1].timestamp;
  const startedAt = at('execution_start');
  const finishedAt = at('execution_success');
  if (startedAt === undefined || finishedAt === undefined) throw new Error(`prompt ${promptId} on ${backend} has no start/success timestamps`);
  return { backend, promptId, startedAt, finishedAt };
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
