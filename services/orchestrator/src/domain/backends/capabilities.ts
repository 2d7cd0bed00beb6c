import { comboOptions, type ComfyClient } from '@anime/comfyui-client';
import { isStorableText } from '@anime/contracts';

/** What a backend can run: its models and node classes, as its /object_info lists them. */
export interface BackendCapabilities {
  checkpoints: string[];
  loras: string[];
  nodeClasses: string[];
  /** The ComfyUI_IPAdapter_plus nodes the reference template uses are installed. */
  ipAdapter: boolean;
}

/** The model files a backend lists (checkpoints and LoRAs): what a `value_not_in_list` refusal is checked against. */
export const modelFilesOf = (capabilities: BackendCapabilities): Set<string> => new Set([...capabilities.checkpoints, ...capabilities.loras]);

const IPADAPTER_CLASSES = ['IPAdapterUnifiedLoader', 'IPAdapter'];

/**
 * One full /object_info answers everything (node classes, and the checkpoint and LoRA dropdowns),
 * so it is asked on (re)connect and now and then, never per job. On a real ComfyUI it is a few MB.
 */
export async function fetchCapabilities(client: Pick<ComfyClient, 'objectInfo'>): Promise<BackendCapabilities> {
  const info = await client.objectInfo();
  return {
    checkpoints: comboOptions(info, 'CheckpointLoaderSimple', 'ckpt_name'),
    loras: comboOptions(info, 'LoraLoader', 'lora_name'),
    // A class name PostgreSQL cannot store names no node a workflow could use.
    nodeClasses: Object.keys(info).filter(isStorableText).sort(),
    ipAdapter: IPADAPTER_CLASSES.every((name) => name in info),
  };
}
