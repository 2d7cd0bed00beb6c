import { isFilledParam, type FilledParam, type TemplateParamSpec } from '@anime/contracts';
import type { TemplateVersion } from '@anime/workflows';
import type { StagedReference, Workflow, WorkflowNode } from './build-workflow';

export interface BindTemplateInput {
  template: TemplateVersion;
  jobId: string;
  characterSlug: string;
  /** What the request and the character give the well-known parameters; checkpoint is null when none was chosen. */
  filled: Record<Exclude<FilledParam, 'loras' | 'checkpoint'>, string | number> & { checkpoint: string | null };
  loras: { name: string; weight: number }[];
  /** The character's references already uploaded to this backend, in the character's order. */
  references: StagedReference[];
}

/**
 * A registered template's graph with a generation's values bound, as submitted to ComfyUI:
 * - well-known parameters (prompt, negative, seed, width, height, steps, count, checkpoint) take
 *   the request's and the character's values; free ones the request's params or their defaults;
 *   a parameter with no value keeps the graph's own literal;
 * - `image` slots take the character's references: a slot with a `kind` the first unused
 *   reference of that kind, then every other slot the next unused one, in order; a slot left
 *   without one keeps its literal (an image the template's author put on the backend);
 * - `loras` inserts one LoraLoader per LoRA, chained from the named node's outputs 0 (MODEL) and
 *   1 (CLIP), and rewires every node that read those outputs to the end of the chain;
 * - every literal `filename_prefix` becomes `jobs/<jobId>/<character>`, so a job's files are its own.
 * The stored template is never changed: the graph is copied first.
 */
export function bindTemplate(input: BindTemplateInput): Workflow {
  const workflow = structuredClone(input.template.graph) as Workflow;
  const { params, values } = input.template;
  const set = (spec: TemplateParamSpec, value: unknown) => {
    if (spec.input !== undefined && workflow[spec.node]) workflow[spec.node].inputs[spec.input] = value;
  };

  for (const [name, spec] of Object.entries(params)) {
    if (spec.type === 'image' || spec.type === 'loras') continue;
    if (isFilledParam(name)) {
      const value = input.filled[name as keyof BindTemplateInput['filled']];
      if (value !== null && value !== undefined) set(spec, value);
    } else if (Object.prototype.hasOwnProperty.call(values, name) && values[name] !== undefined) {
      // An own value only: a parameter named "toString" left unset keeps the graph's literal.
      set(spec, values[name]);
    }
  }
  bindReferences(params, input.references, set);
  if (params.loras && input.loras.length) insertLoraChain(workflow, params.loras.node, input.loras);

  for (const node of Object.values(workflow)) {
    if (typeof node.inputs.filename_prefix === 'string') node.inputs.filename_prefix = `jobs/${input.jobId}/${input.characterSlug}`;
  }
  return workflow;
}

/** Which staged reference each image slot gets; the references the slots leave over are not used. */
export function assignReferences<R extends { kind: string }>(params: Record<string, TemplateParamSpec>, references: R[]): Map<string, R> {
  const slots = Object.entries(params).filter(([, spec]) => spec.type === 'image');
  const unused = [...references];
  const take = (predicate: (r: R) => boolean) => {
    const index = unused.findIndex(predicate);
    return index < 0 ? undefined : unused.splice(index, 1)[0];
  };
  const assigned = new Map<string, R>();
  for (const [name, spec] of slots) {
    const found = spec.kind ? take((r) => r.kind === spec.kind) : undefined;
    if (found) assigned.set(name, found);
  }
  for (const [name] of slots) {
    if (assigned.has(name)) continue;
    const found = take(() => true);
    if (found) assigned.set(name, found);
  }
  return assigned;
}

function bindReferences(params: Record<string, TemplateParamSpec>, references: StagedReference[], set: (spec: TemplateParamSpec, value: unknown) => void) {
  for (const [name, reference] of assignReferences(params, references)) set(params[name], reference.image);
}

function insertLoraChain(workflow: Workflow, source: string, loras: { name: string; weight: number }[]) {
  const consumers = Object.values(workflow);
  const numericIds = Object.keys(workflow).map(Number).filter(Number.isInteger);
  let nextId = Math.max(0, ...numericIds) + 1;
  let model: [string, number] = [source, 0];
  let clip: [string, number] = [source, 1];
  for (const lora of loras) {
    const id = String(nextId++);
    const node: WorkflowNode = {
      class_type: 'LoraLoader',
      inputs: { model, clip, lora_name: lora.name, strength_model: lora.weight, strength_clip: lora.weight },
      _meta: { title: `lora ${lora.name}` },
    };
    workflow[id] = node;
    model = [id, 0];
    clip = [id, 1];
  }
  for (const node of consumers) {
    for (const [key, value] of Object.entries(node.inputs)) {
      if (!Array.isArray(value) || value.length !== 2 || value[0] !== source) continue;
      if (value[1] === 0) node.inputs[key] = model;
      else if (value[1] === 1) node.inputs[key] = clip;
    }
  }
}

/** The checkpoint a template asks for: its `checkpoint` parameter's default, else the graph's literal there. */
export function templateCheckpoint(template: TemplateVersion | null | undefined): string | undefined {
  const spec = template?.params.checkpoint;
  if (!template || !spec) return undefined;
  const literal = spec.input === undefined ? undefined : template.graph[spec.node]?.inputs[spec.input];
  const wanted = spec.default ?? literal;
  return typeof wanted === 'string' ? wanted : undefined;
}
