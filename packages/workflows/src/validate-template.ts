import { WELL_KNOWN_PARAM_TYPES, type TemplateGraph, type TemplateParamSpec, type TemplateParams } from '@anime/contracts';
import { someNames, type WorkflowIssue } from './workflow-domain-error';

/** Something a registration may want to know that does not stop the template from running. */
export interface TemplateWarning {
  code: 'no_seed_param' | 'no_prompt_param' | 'no_output_node' | 'image_param_not_load_image' | 'missing_node_class' | 'missing_model';
  message: string;
  node?: string;
}

export interface TemplateCheck {
  issues: WorkflowIssue[];
  warnings: TemplateWarning[];
}

// Core ComfyUI output nodes: only nodes an output depends on run, and only images they report are filed.
const OUTPUT_CLASSES = new Set(['SaveImage', 'PreviewImage', 'SaveImageWebsocket', 'SaveAnimatedWEBP', 'SaveAnimatedPNG']);

/** ComfyUI reads any 2-element list as a link `[nodeId, outputIndex]` (comfyui-protocol.md §8). */
export const isLinkShaped = (value: unknown): value is [unknown, unknown] => Array.isArray(value) && value.length === 2;
// Own keys only: a node id or input named "toString" or "constructor" is not Object.prototype's.
const owns = (object: object, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const typeName = (value: unknown) => (Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value);

/**
 * Checks a template before it is stored: every link points at an existing node and output
 * index, the graph has no cycle, and every parameter names an existing node and literal input
 * with a sane type, bounds, options and default. Issues refuse the registration; warnings do not.
 */
export function validateTemplate(graph: TemplateGraph, params: TemplateParams): TemplateCheck {
  const issues = [...checkLinks(graph), ...checkCycles(graph)];
  const bound = new Map<string, string>();
  for (const [name, spec] of Object.entries(params)) {
    issues.push(...checkParam(graph, name, spec));
    if (spec.input !== undefined && spec.type !== 'loras') {
      const target = `${spec.node}.${spec.input}`;
      const other = bound.get(target);
      if (other) issues.push({ path: `params.${name}`, message: `binds node ${spec.node} input ${spec.input}, which "${other}" binds already` });
      else bound.set(target, name);
    }
  }
  return { issues, warnings: templateWarnings(graph, params) };
}

function checkLinks(graph: TemplateGraph): WorkflowIssue[] {
  const issues: WorkflowIssue[] = [];
  for (const [id, node] of Object.entries(graph)) {
    for (const [input, value] of Object.entries(node.inputs)) {
      if (!isLinkShaped(value)) continue;
      const path = `graph.${id}.inputs.${input}`;
      const [from, output] = value;
      if (typeof from !== 'string') {
        issues.push({ path, message: `a 2-element list is a link [nodeId, outputIndex] and its node id must be a string (got ${typeName(from)}); wrap a literal list as {"__value__": [...]}` });
      } else if (!owns(graph, from)) {
        issues.push({ path, message: `links to node "${from}", which is not in the graph` });
      } else if (typeof output !== 'number' || !Number.isInteger(output) || output < 0) {
        issues.push({ path, message: `links to output ${JSON.stringify(output)} of node "${from}": an output index is an integer ≥ 0` });
      } else if (from === id) {
        issues.push({ path, message: `links node "${id}" to itself` });
      }
    }
  }
  return issues;
}

/** ComfyUI refuses a graph whose links loop; say so at registration instead of at every run. */
function checkCycles(graph: TemplateGraph): WorkflowIssue[] {
  const state = new Map<string, 'visiting' | 'done'>();
  const upstream = (id: string) =>
    Object.values(graph[id].inputs)
      .filter(isLinkShaped)
      .map(([from]) => from)
      .filter((from): from is string => typeof from === 'string' && owns(graph, from) && from !== id);
  const visit = (id: string, trail: string[]): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'visiting') return [...trail.slice(trail.indexOf(id)), id];
    state.set(id, 'visiting');
    for (const from of upstream(id)) {
      const cycle = visit(from, [...trail, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return null;
  };
  for (const id of Object.keys(graph)) {
    const cycle = visit(id, []);
    if (cycle) return [{ path: `graph.${cycle[0]}`, message: `links form a cycle: ${cycle.join(' ← ')}` }];
  }
  return [];
}

function checkParam(graph: TemplateGraph, name: string, spec: TemplateParamSpec): WorkflowIssue[] {
  const issues: WorkflowIssue[] = [];
  const at = (field: string | null, message: string) => issues.push({ path: field ? `params.${name}.${field}` : `params.${name}`, message });
  // Own names only: "constructor" or "toString" are free parameters, not Object.prototype's.
  const wellKnown = Object.prototype.hasOwnProperty.call(WELL_KNOWN_PARAM_TYPES, name) ? WELL_KNOWN_PARAM_TYPES[name] : undefined;
  if (wellKnown && !wellKnown.includes(spec.type)) at('type', `"${name}" is a well-known parameter of type ${wellKnown.join(' or ')}`);
  if (spec.type === 'loras' && name !== 'loras') at('type', 'only the parameter named "loras" has type loras');

  const node = owns(graph, spec.node) ? graph[spec.node] : undefined;
  if (!node) {
    at('node', `no node "${spec.node}" in the graph`);
  } else if (spec.type !== 'loras') {
    if (spec.input === undefined) at('input', `required: the input of node ${spec.node} (${node.class_type}) the value goes to`);
    else if (!owns(node.inputs, spec.input)) at('input', `node ${spec.node} (${node.class_type}) has no input "${spec.input}"; it has ${someNames(Object.keys(node.inputs)) || 'none'}`);
    else if (isLinkShaped(node.inputs[spec.input])) at('input', `node ${spec.node} input ${spec.input} is a link; a parameter replaces a literal value`);
  }

  const numeric = spec.type === 'int' || spec.type === 'float';
  if ((spec.min !== undefined || spec.max !== undefined) && !numeric) at('min', `min and max apply to int and float parameters, not ${spec.type}`);
  if (spec.min !== undefined && spec.max !== undefined && spec.min > spec.max) at('max', `max ${spec.max} is below min ${spec.min}`);
  if (spec.type === 'int' && [spec.min, spec.max].some((b) => b !== undefined && !Number.isInteger(b))) at('min', 'bounds of an int parameter are integers');
  if (spec.type === 'enum' && !spec.options) at('options', 'an enum parameter lists its options');
  if (spec.options && spec.type !== 'enum' && !(name === 'checkpoint' && spec.type === 'string')) at('options', `options apply to enum parameters, not ${spec.type}`);
  if (spec.options && new Set(spec.options).size !== spec.options.length) at('options', 'options repeat a value');
  if (spec.kind !== undefined && spec.type !== 'image') at('kind', 'kind applies to image parameters');
  if (spec.default !== undefined) {
    if (spec.type === 'image' || spec.type === 'loras') at('default', `a ${spec.type} parameter is filled from the character and has no default`);
    else {
      const problem = valueProblem(spec, spec.default);
      if (problem) at('default', problem);
    }
  }
  return issues;
}

/** Why `value` does not fit the parameter, or null when it does. Shared with the request's params. */
export function valueProblem(spec: TemplateParamSpec, value: unknown): string | null {
  switch (spec.type) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `must be an integer (got ${JSON.stringify(value)})`;
      break;
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number (got ${JSON.stringify(value)})`;
      break;
    case 'string':
      if (typeof value !== 'string') return `must be a string (got ${typeName(value)})`;
      break;
    case 'boolean':
      // ComfyUI turns the string "false" into True: only JSON booleans are safe.
      if (typeof value !== 'boolean') return `must be true or false (got ${JSON.stringify(value)})`;
      break;
    case 'enum':
      if (!spec.options?.includes(value as string | number)) return `must be one of ${(spec.options ?? []).map((o) => JSON.stringify(o)).join(', ')} (got ${JSON.stringify(value)})`;
      break;
    case 'image':
    case 'loras':
      return 'is filled from the character, not given';
  }
  if (typeof value === 'number') {
    if (spec.min !== undefined && value < spec.min) return `must be ≥ ${spec.min} (got ${value})`;
    if (spec.max !== undefined && value > spec.max) return `must be ≤ ${spec.max} (got ${value})`;
  }
  return null;
}

function templateWarnings(graph: TemplateGraph, params: TemplateParams): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  if (!params.seed) {
    warnings.push({ code: 'no_seed_param', message: 'no "seed" parameter: the same request renders the same image, and ComfyUI answers a repeat from its cache' });
  }
  if (!params.prompt) {
    warnings.push({ code: 'no_prompt_param', message: 'no "prompt" parameter: neither the request\'s prompt nor the character\'s conditioning reaches this graph' });
  }
  if (!Object.values(graph).some((node) => OUTPUT_CLASSES.has(node.class_type))) {
    warnings.push({ code: 'no_output_node', message: `no core output node (${[...OUTPUT_CLASSES].join(', ')}): unless a custom node reports images, there is nothing to file` });
  }
  for (const [name, spec] of Object.entries(params)) {
    const node = owns(graph, spec.node) ? graph[spec.node] : undefined;
    if (spec.type === 'image' && node && node.class_type !== 'LoadImage') {
      warnings.push({ code: 'image_param_not_load_image', node: spec.node, message: `image parameter "${name}" binds node ${spec.node} (${node.class_type}), not a LoadImage` });
    }
  }
  return warnings;
}
