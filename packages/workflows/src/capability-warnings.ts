import type { TemplateGraph } from '@anime/contracts';
import type { TemplateWarning } from './validate-template';

/** What one backend is known to offer. `nodeClasses` is absent when nobody has asked it yet. */
export interface BackendCapabilities {
  url: string;
  checkpoints: string[];
  loras: string[];
  nodeClasses?: string[];
}

// Inputs that name model files, by the folder ComfyUI looks them up in.
const MODEL_INPUTS: Record<string, 'checkpoints' | 'loras'> = { ckpt_name: 'checkpoints', lora_name: 'loras' };

/**
 * Node classes and model files the graph names that no known backend has. Nothing is reported
 * when no backend is known: silence then means "not checked", never "all present".
 */
export function capabilityWarnings(graph: TemplateGraph, backends: BackendCapabilities[]): TemplateWarning[] {
  if (backends.length === 0) return [];
  const warnings: TemplateWarning[] = [];
  const classKnown = backends.filter((b) => b.nodeClasses);
  for (const [id, node] of Object.entries(graph)) {
    if (classKnown.length && !classKnown.some((b) => b.nodeClasses!.includes(node.class_type))) {
      warnings.push({ code: 'missing_node_class', node: id, message: `no backend has node class ${node.class_type} (node ${id})` });
    }
    for (const [input, folder] of Object.entries(MODEL_INPUTS)) {
      const name = node.inputs[input];
      if (typeof name === 'string' && !backends.some((b) => b[folder].includes(name))) {
        warnings.push({ code: 'missing_model', node: id, message: `no backend has ${folder} "${name}" (node ${id} input ${input})` });
      }
    }
  }
  return warnings;
}
