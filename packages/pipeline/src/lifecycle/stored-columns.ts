import type { z } from 'zod';
import { jobConditioningSchema, referenceUseSchema, renderOutputsSchema, storedWorkflowSchema } from '@anime/contracts';
import { MalformedDataError } from '../faults/stage-faults';

function parseColumn<S extends z.ZodType>(schema: S, value: unknown, column: string, jobId: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
    throw new MalformedDataError(`generation ${jobId} has a malformed ${column}: ${problems}`);
  }
  return parsed.data;
}

interface JobColumns {
  id: string;
  conditioning: unknown;
  workflow: unknown;
  outputs: unknown;
}

/** The JSON columns that carry data between stages, parsed against their declared schemas. */
export const readConditioning = (job: JobColumns) => parseColumn(jobConditioningSchema, job.conditioning, 'conditioning', job.id);
export const readWorkflow = (job: JobColumns) => parseColumn(storedWorkflowSchema, job.workflow, 'workflow', job.id);
export const readOutputs = (job: JobColumns) => parseColumn(renderOutputsSchema, job.outputs, 'outputs', job.id);
/** Null until an attempt's graph was built (or on rows from before it was recorded). */
export const readReferenceUse = (job: { id: string; referenceUse: unknown }) => (job.referenceUse === null || job.referenceUse === undefined ? null : parseColumn(referenceUseSchema, job.referenceUse, 'referenceUse', job.id));
