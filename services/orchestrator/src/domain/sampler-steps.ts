/** A node of an API-format graph, as far as its sampler steps go. */
type GraphNode = { class_type: string; inputs: Record<string, unknown> };

/**
 * The progress ticks a graph is expected to send: one per sampler step, ComfyUI's `progress`
 * messages counting 1..steps for each sampler node. KSamplerAdvanced runs from start_at_step to
 * end_at_step (within steps). An estimate: a node that reports progress another way adds nothing,
 * and a seq reserved for a tick that never comes only leaves a gap.
 */
export function samplerSteps(graph: Record<string, GraphNode>): number {
  let total = 0;
  for (const node of Object.values(graph)) {
    const steps = wholeNumber(node.inputs?.steps);
    if (steps === undefined) continue;
    const start = wholeNumber(node.inputs.start_at_step) ?? 0;
    const end = Math.min(wholeNumber(node.inputs.end_at_step) ?? steps, steps);
    total += Math.max(0, end - start);
  }
  return total;
}

const wholeNumber = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? Math.max(0, Math.floor(value)) : undefined);
