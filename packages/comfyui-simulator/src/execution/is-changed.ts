import type { NodeDefinition, NodeEnvironment } from '../nodes/node-definition';

/**
 * execution.IsChangedCache.get for one node, when the cache keys are set at the start of a run: a node
 * class without IS_CHANGED gives False; otherwise a posted "is_changed" is used as is, else the node's
 * IS_CHANGED results (a list, one per input batch: LoadImage gives [sha256 hex of its file]) are stored
 * on the node itself, or NaN if it raised. That node dict is the prompt the server keeps, so
 * "is_changed" then shows in history, /queue and the prompt chunk SaveImage writes.
 */
export function isChangedOf(node: Record<string, any>, definition: NodeDefinition | undefined, env: NodeEnvironment): unknown {
  if (!definition?.isChanged) return false;
  if ('is_changed' in node) return node.is_changed;
  const result = definition.isChanged(node.inputs as Record<string, unknown>, env);
  node.is_changed = result === undefined ? NaN : [result];
  return node.is_changed;
}
