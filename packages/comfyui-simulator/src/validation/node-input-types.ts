import type { InputSpec, NodeInputTypes } from '../nodes/node-definition';

export interface InputInfo {
  type: string | string[];
  category: 'required' | 'optional';
  extra: Record<string, unknown>;
}

/** get_input_info: the declared type, category and options of one input, if the class declares it. */
export function inputInfo(types: NodeInputTypes, name: string): InputInfo | undefined {
  for (const category of ['required', 'optional'] as const) {
    const spec: InputSpec | undefined = types[category]?.[name];
    if (spec) return { type: spec[0], category, extra: spec[1] ?? {} };
  }
  return undefined;
}

/** The names validation walks: required then optional (ComfyUI uses a set; a fixed order keeps output stable). */
export function declaredInputs(types: NodeInputTypes): string[] {
  return [...new Set([...Object.keys(types.required), ...Object.keys(types.optional ?? {})])];
}

/** comfy_execution.validation.validate_node_input: equal, "*" or overlapping comma-separated unions. */
export function typesCompatible(received: string, expected: string | string[]): boolean {
  if (received === expected) return true;
  if (typeof expected !== 'string') return false;
  const receivedSet = received.split(',').map((t) => t.trim());
  const expectedSet = expected.split(',').map((t) => t.trim());
  if (receivedSet.includes('*') || expectedSet.includes('*')) return true;
  return receivedSet.some((t) => expectedSet.includes(t));
}
