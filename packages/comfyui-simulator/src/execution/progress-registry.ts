type NodeState = 'running' | 'finished';

/** comfy_execution.progress: every start, update and finish re-sends the state of all nodes seen so far. */
export class ProgressRegistry {
  private readonly nodes = new Map<string, { value: number; max: number; state: NodeState }>();

  constructor(
    private readonly promptId: string,
    private readonly publish: (data: Record<string, unknown>) => void,
  ) {}

  start(nodeId: string): void {
    this.nodes.set(nodeId, { value: 0, max: 1, state: 'running' });
    this.emit();
  }

  update(nodeId: string, value: number, max: number): void {
    this.nodes.set(nodeId, { value, max, state: 'running' });
    this.emit();
  }

  finish(nodeId: string): void {
    const entry = this.nodes.get(nodeId) ?? { value: 0, max: 1, state: 'running' };
    this.nodes.set(nodeId, { value: entry.max, max: entry.max, state: 'finished' });
    this.emit();
  }

  private emit(): void {
    const nodes: Record<string, unknown> = {};
    for (const [nodeId, { value, max, state }] of this.nodes) {
      nodes[nodeId] = {
        value, max, state, node_id: nodeId, prompt_id: this.promptId, display_node_id: nodeId, parent_node_id: null, real_node_id: nodeId,
      };
    }
    this.publish({ prompt_id: this.promptId, nodes });
  }
}
