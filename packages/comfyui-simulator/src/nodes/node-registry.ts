import { emptyImage, loadImage, vaeDecode } from './image-nodes';
import { checkpointLoaderSimple, loraLoader } from './loader-nodes';
import type { NodeDefinition } from './node-definition';
import { clipTextEncode, emptyLatentImage, kSampler } from './sampling-nodes';
import { previewImage, saveImage } from './save-nodes';

/** NODE_CLASS_MAPPINGS of the simulator, in the order /object_info lists them. */
export const NODE_CLASSES: ReadonlyMap<string, NodeDefinition> = new Map(
  [checkpointLoaderSimple, clipTextEncode, emptyLatentImage, kSampler, vaeDecode, saveImage, previewImage, emptyImage, loraLoader, loadImage].map(
    (node) => [node.name, node],
  ),
);
