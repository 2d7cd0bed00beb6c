import type { NodeDefinition, NodeEnvironment } from './node-definition';

/** One /object_info entry, in the shape and key order of a real server's. */
export function nodeInfo(node: NodeDefinition, env: NodeEnvironment): Record<string, unknown> {
  const input = node.inputTypes(env);
  const info: Record<string, unknown> = {
    input,
    input_order: Object.fromEntries(Object.entries(input).map(([category, inputs]) => [category, Object.keys(inputs ?? {})])),
    output: node.output,
    output_is_list: node.output.map(() => false),
    output_name: node.outputNames ?? node.output,
    name: node.name,
    display_name: node.displayName,
    description: node.description,
    python_module: node.pythonModule ?? 'nodes',
    category: node.category,
    output_node: node.outputNode,
  };
  if (node.outputTooltips) info.output_tooltips = node.outputTooltips;
  return info;
}

export function objectInfo(env: NodeEnvironment, className?: string): Record<string, unknown> {
  if (className === undefined) return Object.fromEntries([...env.nodes.values()].map((node) => [node.name, nodeInfo(node, env)]));
  const node = env.nodes.get(className);
  return node ? { [className]: nodeInfo(node, env) } : {};
}
