import { z } from 'zod';
import { jsonRecord } from './json-record';
import { FINITE_NUMBERS_MESSAGE, jsonNumbersAreFinite } from './finite-json';
import { jsonIsStorable, STORABLE_TEXT_MESSAGE, storableText } from './safe-text';

/**
 * Parameter types of a registered template. `image` binds one of the character's reference images
 * (uploaded to the backend) to a LoadImage `image` input; `loras` inserts the character's LoRAs as
 * chained LoraLoader nodes after the node it names (whose outputs 0 and 1 are MODEL and CLIP).
 */
export const TEMPLATE_PARAM_TYPES = ['int', 'float', 'string', 'boolean', 'enum', 'image', 'loras'] as const;
export type TemplateParamType = (typeof TEMPLATE_PARAM_TYPES)[number];

/**
 * Names the system fills, never the request's `params`: from the request's own fields (prompt via
 * the character's conditioning, seed, width, height, steps, count) or from the character (negative,
 * checkpoint, loras), with the types they must be declared with. `cfg` is well-known in type only:
 * the request sets it through `params`.
 */
export const FILLED_PARAMS = {
  prompt: ['string'],
  negative: ['string'],
  seed: ['int'],
  width: ['int'],
  height: ['int'],
  steps: ['int'],
  count: ['int'],
  checkpoint: ['string', 'enum'],
  loras: ['loras'],
} as const satisfies Record<string, readonly TemplateParamType[]>;
export type FilledParam = keyof typeof FILLED_PARAMS;
export const WELL_KNOWN_PARAM_TYPES: Record<string, readonly TemplateParamType[]> = { ...FILLED_PARAMS, cfg: ['float', 'int'] };

export const isFilledParam = (name: string): name is FilledParam => Object.prototype.hasOwnProperty.call(FILLED_PARAMS, name);

/**
 * Whether the graph a generation runs takes one of the values the system fills: the built-in
 * txt2img (no template) takes them all; a registered template only those it declares a parameter
 * for. What it does not take is not applied (its graph keeps its own literal, and without `loras`
 * none of the character's LoRAs), so routing needs none of it and provenance records none of it.
 */
export const graphTakes = (template: { params: Record<string, unknown> } | null | undefined, name: FilledParam): boolean =>
  !template || Object.prototype.hasOwnProperty.call(template.params, name);

export const REFERENCE_SLOT_KINDS = ['face', 'body', 'outfit', 'style', 'other'] as const;

const paramValue = z.union([storableText().max(4000), z.number().finite(), z.boolean()]);
export type TemplateParamValue = z.infer<typeof paramValue>;

export const templateParamSpecSchema = z
  .object({
    type: z.enum(TEMPLATE_PARAM_TYPES),
    /** The node id in `graph` the value goes to. */
    node: storableText().min(1).max(64),
    /** The input of that node; not used by `loras`, which binds the node's outputs. */
    input: storableText().min(1).max(200).optional(),
    default: paramValue.optional(),
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
    options: z.array(z.union([storableText().max(500), z.number().finite()])).min(1).max(500).optional(),
    /** `image` only: the reference kind this slot prefers (else the next unused reference). */
    kind: z.enum(REFERENCE_SLOT_KINDS).optional(),
    description: storableText().max(1000).optional(),
  })
  .strict();
export type TemplateParamSpec = z.infer<typeof templateParamSpecSchema>;

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_PARAMS = 100;
const MAX_NODES = 2000;
const MAX_GENERATION_PARAMS = 64;

const graphNodeSchema = z
  .object({
    class_type: storableText().min(1).max(200),
    inputs: jsonRecord(z.string(), z.unknown()),
    _meta: z.object({ title: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

/**
 * An API-format graph as ComfyUI's "Export (API)" writes it: node id → { class_type, inputs }.
 * The node counts are refines, which JSON Schema cannot carry: meta publishes them as well.
 */
export const templateGraphSchema = jsonRecord(storableText().min(1).max(64), graphNodeSchema)
  .refine((graph) => Object.keys(graph).length > 0, { message: 'must hold at least one node' })
  .refine((graph) => Object.keys(graph).length <= MAX_NODES, { message: `at most ${MAX_NODES} nodes` })
  .refine(jsonIsStorable, { message: STORABLE_TEXT_MESSAGE })
  .refine(jsonNumbersAreFinite, { message: FINITE_NUMBERS_MESSAGE })
  .meta({ minProperties: 1, maxProperties: MAX_NODES });
export type TemplateGraph = z.infer<typeof templateGraphSchema>;

export const templateParamsSchema = jsonRecord(z.string().regex(PARAM_NAME, 'parameter names are letters, digits and "_", starting with a letter or "_"'), templateParamSpecSchema)
  .refine((params) => Object.keys(params).length <= MAX_PARAMS, { message: `at most ${MAX_PARAMS} parameters` })
  .meta({ maxProperties: MAX_PARAMS });
export type TemplateParams = z.infer<typeof templateParamsSchema>;

export const workflowSlugSchema = () =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lowercase letters, digits and "-", starting with a letter or digit');

/** `POST /api/v1/workflows` body: the same slug again registers its next version. */
export const registerWorkflowBodySchema = z
  .object({
    slug: workflowSlugSchema(),
    name: storableText().min(1).max(200).optional(),
    graph: templateGraphSchema,
    params: templateParamsSchema.default({}),
    note: storableText().max(2000).optional(),
  })
  .strict();
export type RegisterWorkflowBody = z.infer<typeof registerWorkflowBodySchema>;

/** A generation's `params`: a template's free parameters by name. */
export const generationParamsSchema = jsonRecord(z.string().regex(PARAM_NAME, 'parameter names are letters, digits and "_"'), paramValue)
  .refine((params) => Object.keys(params).length <= MAX_GENERATION_PARAMS, { message: `at most ${MAX_GENERATION_PARAMS} parameters` })
  .meta({ maxProperties: MAX_GENERATION_PARAMS });
export type GenerationParams = z.infer<typeof generationParamsSchema>;
