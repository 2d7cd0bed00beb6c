import { CUSTOM_NODE_PACK_NAMES, CUSTOM_NODE_PACKS, isCustomNodePack, type CustomNodePack } from './custom-node-packs';
import { emptyImage, loadImage, vaeDecode } from './image-nodes';
import { checkpointLoaderSimple, loraLoader } from './loader-nodes';
import type { NodeDefinition, NodeRegistry } from './node-definition';
import { clipTextEncode, emptyLatentImage, kSampler } from './sampling-nodes';
import { previewImage, saveImage } from './save-nodes';

/** The core classes every simulator has, in the order /object_info lists them. */
const CORE_NODES: readonly NodeDefinition[] = [
  checkpointLoaderSimple, clipTextEncode, emptyLatentImage, kSampler, vaeDecode, saveImage, previewImage, emptyImage, loraLoader, loadImage,
];

export interface NodeRegistryOptions {
  /** Custom node packs installed on this simulator; their classes follow the core ones, as ComfyUI loads custom_nodes last. */
  customNodes?: readonly CustomNodePack[];
}

/** The NODE_CLASS_MAPPINGS of one simulator instance. */
export function createNodeRegistry({ customNodes = [] }: NodeRegistryOptions = {}): NodeRegistry {
  const unknown = customNodes.filter((name) => !isCustomNodePack(name));
  if (unknown.length > 0) throw new Error(`unknown custom node pack(s): ${unknown.join(', ')} (known: ${CUSTOM_NODE_PACK_NAMES.join(', ')})`);
  const nodes = [...CORE_NODES, ...customNodes.flatMap((name) => CUSTOM_NODE_PACKS[name])];
  return new Map(nodes.map((node) => [node.name, node]));
}
