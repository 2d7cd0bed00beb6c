import { ipAdapter, ipAdapterUnifiedLoader } from './ipadapter-nodes';
import type { NodeDefinition } from './node-definition';

/** Custom node packs a simulator can have installed, by the name --custom-nodes takes. */
export const CUSTOM_NODE_PACKS = {
  /** cubiq/ComfyUI_IPAdapter_plus, reduced to its unified loader and the simple IPAdapter node. */
  ipadapter: [ipAdapterUnifiedLoader, ipAdapter],
} satisfies Record<string, readonly NodeDefinition[]>;

export type CustomNodePack = keyof typeof CUSTOM_NODE_PACKS;

export const CUSTOM_NODE_PACK_NAMES = Object.keys(CUSTOM_NODE_PACKS) as CustomNodePack[];

export function isCustomNodePack(name: string): name is CustomNodePack {
  return (CUSTOM_NODE_PACK_NAMES as string[]).includes(name);
}
