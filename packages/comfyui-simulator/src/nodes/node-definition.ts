import type { PreviewMethod } from '../execution/latent-preview';
import type { ApiPrompt, ExtraData, SavedImageRef } from '../types';

export type InputSpec = [type: string | string[], options?: Record<string, unknown>];

export interface NodeInputTypes {
  required: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, string>;
}

/** NODE_CLASS_MAPPINGS of one simulator: class name → definition, in the order /object_info lists them. */
export type NodeRegistry = ReadonlyMap<string, NodeDefinition>;

/** What nodes may read from the simulator: folders, model lists, pacing and the node classes it has. */
export interface NodeEnvironment {
  nodes: NodeRegistry;
  outputDir: string;
  inputDir: string;
  tempDir: string;
  stepMs: number;
  /** --preview-method: whether each sampler step also sends a preview image. */
  previewMethod: PreviewMethod;
  checkpoints: string[];
  loras: string[];
}

export interface NodeContext {
  nodeId: string;
  classType: string;
  prompt: ApiPrompt;
  extraData: ExtraData;
  /** Literal inputs as validated, linked inputs replaced by the upstream node's output. */
  inputs: Record<string, any>;
  env: NodeEnvironment;
  progress(value: number, max: number): void;
  /** Throws when an interrupt was requested, like comfy.model_management.throw_exception_if_processing_interrupted. */
  checkInterrupted(): void;
}

export interface NodeResult {
  outputs: unknown[];
  ui?: { images: SavedImageRef[] };
}

export interface NodeDefinition {
  name: string;
  displayName: string;
  description: string;
  category: string;
  /** Where the class comes from, as /object_info's python_module reports it; core nodes leave it out ('nodes'). */
  pythonModule?: string;
  outputNode: boolean;
  inputTypes(env: NodeEnvironment): NodeInputTypes;
  output: string[];
  outputNames?: string[];
  outputTooltips?: string[];
  /** The node's VALIDATE_INPUTS: the inputs it takes over (they skip min/max/list checks) and its verdict. */
  customValidation?: { inputs: string[]; validate(inputs: Record<string, unknown>, env: NodeEnvironment): true | string };
  /** Extra cache-key material, like a node's IS_CHANGED (LoadImage hashes its file). */
  isChanged?(inputs: Record<string, unknown>, env: NodeEnvironment): string | undefined;
  run(context: NodeContext): Promise<NodeResult> | NodeResult;
}
