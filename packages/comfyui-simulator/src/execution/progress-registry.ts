import { markFloat } from '../python/py-json-marks';

type NodeState = 'running' | 'finished';

/**
 * comfy_execution.progress: every start, update and finish re-sends the state of all nodes seen so far.
 * Its numbers print as Python's: start_progress sets 0.0 / 1.0 (floats), a step takes the hook's ints,
 * finish copies max into value, and a node finished without starting (a cached one) keeps
 * ensure_entry's 0 / 1 (ints): 10_probe_ws_messages.json against 11_probe_again_cached_ws_messages.json.
 */
export class ProgressRegistry {
  private readonly nodes = new Map<string, { value: number; max: number; state: NodeState; floats: boolean }>();

  constructor(
    private readonly promptId: string,
    private readonly publish: (data: Record<string, unknown>) => void,
  ) {}

  start(nodeId: string): void {
    this.nodes.set(nodeId, { value: 0, max: 1, state: 'running', floats: true });
    this.emit();
  }

  update(nodeId: string, value: number, max: number): void {
    this.nodes.set(nodeId, { value, max, state: 'running', floats: false });
    this.emit();
  }

  finish(nodeId: string): void {
    const entry = this.nodes.get(nodeId) ?? { value: 0, max: 1, state: 'running', floats: false };
    this.nodes.set(nodeId, { value: entry.max, max: entry.max, state: 'finished', floats: entry.floats });
    this.emit();
  }

  private emit(): void {
    const nodes: Record<string, unknown> = {};
    for (const [nodeId, { value, max, state, floats }] of this.nodes) {
      const node = {
        value, max, state, node_id: nodeId, prompt_id: this.promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId,
      };
      if (floats) {
        markFloat(node, 'value', value);
        markFloat(node, 'max', max);
      }
      nodes[nodeId] = node;
    }
    this.publish({ prompt_id: this.promptId, nodes });
  }
}
