import type { NodeRegistry } from '../nodes/node-definition';
import type { ApiPrompt } from '../types';
import { isLink } from './output-cache';

/**
 * The order ComfyUI's ExecutionList runs nodes in: the output nodes plus every uncached node they
 * depend on, staged with its "UX friendly" pick (outputs first, then what feeds them soonest).
 *
 * The only cached nodes in the plan are output nodes (a cached output is replayed, not run). With
 * cachedOutputReplay 'staged' (0.8.0, 11_probe_again_cached_ws_messages.json) they are picked like any
 * ready output, so first; with 'after-new' (reported against 0.3.64 in issue 14: the new output's
 * `executed` comes first, then the cached output's replay) they are picked only once nothing uncached is ready.
 */
export function planExecution(
  prompt: ApiPrompt,
  outputs: string[],
  isCached: (nodeId: string) => boolean,
  nodes: NodeRegistry,
  cachedOutputReplay: 'staged' | 'after-new' = 'staged',
): string[] {
  const pending = new Map<string, true>();
  const blockCount = new Map<string, number>();
  const blocking = new Map<string, Set<string>>();

  const addNode = (start: string) => {
    const stack = [start];
    const links: Array<[string, string]> = [];
    while (stack.length > 0) {
      const nodeId = stack.pop()!;
      if (pending.has(nodeId)) continue;
      pending.set(nodeId, true);
      blockCount.set(nodeId, 0);
      blocking.set(nodeId, new Set());
      for (const value of Object.values(prompt[nodeId].inputs as Record<string, unknown>)) {
        if (!isLink(value)) continue;
        if (!isCached(value[0])) stack.push(value[0]);
        links.push([value[0], nodeId]);
      }
    }
    for (const [from, to] of links) {
      if (isCached(from)) continue;
      addNode(from);
      if (!blocking.get(from)!.has(to)) {
        blocking.get(from)!.add(to);
        blockCount.set(to, blockCount.get(to)! + 1);
      }
    }
  };
  for (const output of outputs) addNode(output);

  const isOutput = (nodeId: string) => nodes.get(prompt[nodeId].class_type)?.outputNode === true;
  const feedsOutput = (nodeId: string, depth: number): boolean =>
    [...blocking.get(nodeId)!].some((next) => (depth === 1 ? isOutput(next) : feedsOutput(next, depth - 1)));
  const uxPick = (ready: string[]) =>
    ready.find(isOutput) ?? ready.find((id) => feedsOutput(id, 1)) ?? ready.find((id) => feedsOutput(id, 2)) ?? ready[0];
  const pick = (ready: string[]) => {
    if (cachedOutputReplay === 'staged') return uxPick(ready);
    const uncached = ready.filter((id) => !isCached(id));
    return uxPick(uncached.length > 0 ? uncached : ready);
  };

  const order: string[] = [];
  while (pending.size > 0) {
    const ready = [...pending.keys()].filter((id) => blockCount.get(id) === 0);
    if (ready.length === 0) break;
    const next = pick(ready);
    order.push(next);
    pending.delete(next);
    for (const blocked of blocking.get(next)!) blockCount.set(blocked, blockCount.get(blocked)! - 1);
  }
  return order;
}
