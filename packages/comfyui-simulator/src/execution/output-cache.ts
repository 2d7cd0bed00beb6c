import { createHash } from 'node:crypto';
import type { NodeEnvironment } from '../nodes/node-definition';
import type { ApiPrompt, SavedImageRef } from '../types';
import { isChangedOf } from './is-changed';

export interface CacheEntry {
  outputs: unknown[];
  ui?: { images: SavedImageRef[] };
}

export function isLink(value: unknown): value is [string, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number';
}

/**
 * ComfyUI's classic output cache: keyed by a node's input signature (class, literal inputs and the
 * signatures of what it links to, recursively), and pruned to the nodes of the current prompt, so
 * only results shared with the previous prompt survive.
 */
export class OutputCache {
  private readonly entries = new Map<string, CacheEntry>();
  private keys = new Map<string, string>();

  setPrompt(prompt: ApiPrompt, env: NodeEnvironment): void {
    const keys = new Map<string, string>();
    const visiting = new Set<string>();
    const signature = (nodeId: string): string => {
      const known = keys.get(nodeId);
      if (known) return known;
      const node = prompt[nodeId];
      // Parts of a partially valid prompt that never run may be cyclic or malformed: give them a key of their own.
      if (visiting.has(nodeId) || typeof node?.inputs !== 'object' || node.inputs === null) return `unique:${nodeId}:${Math.random()}`;
      visiting.add(nodeId);
      const inputs = node.inputs as Record<string, unknown>;
      const parts = Object.keys(inputs)
        .sort()
        .map((name) => {
          const value = inputs[name];
          return [name, isLink(value) && value[0] in prompt ? ['ANCESTOR', signature(value[0]), value[1]] : value];
        });
      visiting.delete(nodeId);
      const isChanged = isChangedOf(node, env.nodes.get(node.class_type), env);
      const key = createHash('sha256').update(JSON.stringify([node.class_type, isChanged, parts])).digest('hex');
      keys.set(nodeId, key);
      return key;
    };
    for (const nodeId of Object.keys(prompt)) signature(nodeId);
    this.keys = keys;
    const used = new Set(keys.values());
    for (const key of [...this.entries.keys()]) if (!used.has(key)) this.entries.delete(key);
  }

  get(nodeId: string): CacheEntry | undefined {
    const key = this.keys.get(nodeId);
    return key === undefined ? undefined : this.entries.get(key);
  }

  set(nodeId: string, entry: CacheEntry): void {
    const key = this.keys.get(nodeId);
    if (key !== undefined) this.entries.set(key, entry);
  }

  delete(nodeId: string): void {
    const key = this.keys.get(nodeId);
    if (key !== undefined) this.entries.delete(key);
  }
}
