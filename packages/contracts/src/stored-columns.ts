import { z } from 'zod';

// JSON columns of generation_jobs that carry data from one stage to the next. They are parsed
// on read, so a row written by an older or foreign writer fails loudly instead of half-working.

export const conditioningReferenceSchema = z.object({
  id: z.string(),
  label: z.string(),
  kind: z.string(),
  sha256: z.string(),
  /** Relative to LIBRARY_DIR. */
  path: z.string(),
});
export type ConditioningReference = z.infer<typeof conditioningReferenceSchema>;

/** What resolving a character version records on a job (`generation_jobs.conditioning`). */
export const jobConditioningSchema = z.object({
  positive: z.string(),
  negative: z.string(),
  loras: z.array(z.object({ name: z.string(), weight: z.number() })),
  checkpoint: z.string().optional(),
  references: z.array(conditioningReferenceSchema),
  outfit: z.string().nullable(),
  /**
   * The template version chosen when the generation was resolved and the values its parameters
   * get (the request's, else the defaults), so a retry renders the same template. Absent on rows
   * written before templates existed: those ran the built-in txt2img@1.
   */
  workflow: z
    .object({ slug: z.string(), version: z.number().int().min(1), params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
    .optional(),
});
export type JobConditioning = z.infer<typeof jobConditioningSchema>;

/** An API-format ComfyUI graph as submitted (`job_attempts.workflow`): node id → node. */
export const storedWorkflowSchema = z.record(
  z.string(),
  z.object({ class_type: z.string(), inputs: z.record(z.string(), z.unknown()), _meta: z.object({ title: z.string().optional() }).optional() }),
);
export type StoredWorkflow = z.infer<typeof storedWorkflowSchema>;

/** One image ComfyUI reported in `/history`, as `/view` serves it. */
export const comfyOutputRefSchema = z.object({
  nodeId: z.string(),
  filename: z.string(),
  subfolder: z.string(),
  type: z.string(),
});
export type ComfyOutputRef = z.infer<typeof comfyOutputRefSchema>;

/** A finished prompt's outputs (`generation_jobs.outputs`), for the file-organizer to fetch. */
export const renderOutputsSchema = z.object({
  backend: z.string(),
  promptId: z.string(),
  items: z.array(comfyOutputRefSchema),
});
export type RenderOutputs = z.infer<typeof renderOutputsSchema>;

/**
 * Whether a reference conditioned the image on the backend that rendered the attempt, decided
 * when the graph was built (`generation_jobs.referenceUse`, one entry per reference by sha256).
 */
export const referenceAppliedHowSchema = z.union([
  z.object({ method: z.literal('ipadapter'), weight: z.number() }),
  /** A registered template's image parameter took it; what that input does is the template's. */
  z.object({ method: z.literal('template'), param: z.string() }),
  z.object({ reason: z.enum(['no_ipadapter_on_backend', 'not_used', 'ipadapter_disabled']) }),
]);
export const referenceUseSchema = z.array(
  z.object({ sha256: z.string(), applied: z.boolean(), appliedHow: referenceAppliedHowSchema }),
);
export type ReferenceUse = z.infer<typeof referenceUseSchema>;
