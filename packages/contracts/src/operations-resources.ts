import { z } from 'zod';
import { backendResourceSchema } from './resources';
import { isoDate } from './resource-fields';

// Workflow templates, queues and schema listings as the REST API returns them (see resources.ts).


export const workflowVersionResourceSchema = z
  .object({
    number: z.number().int(),
    name: z.string(),
    graph: z.record(z.string(), z.unknown()).nullable().describe('the ComfyUI API graph; null for a built-in, built per job'),
    params: z.record(z.string(), z.unknown()),
    note: z.string().nullable(),
    createdAt: isoDate.nullable(),
  })
  .meta({ id: 'WorkflowVersion' });

export const workflowListItemSchema = z
  .object({ slug: z.string(), name: z.string(), currentVersion: z.number().int(), builtIn: z.boolean() })
  .meta({ id: 'WorkflowSummary' });

export const workflowDetailSchema = z
  .object({
    id: z.uuid().nullable(),
    slug: z.string(),
    name: z.string(),
    builtIn: z.boolean(),
    currentVersion: workflowVersionResourceSchema,
    versionCount: z.number().int(),
    createdAt: isoDate.nullable(),
  })
  .meta({ id: 'Workflow' });

export const workflowRegisteredSchema = workflowVersionResourceSchema
  .extend({ slug: z.string(), version: z.number().int(), warnings: z.array(z.unknown()) })
  .meta({ id: 'WorkflowRegistered' });

export const queueResourceSchema = z
  .object({
    name: z.string(),
    paused: z.boolean(),
    counts: z.object({ waiting: z.number().int(), active: z.number().int(), delayed: z.number().int(), completed: z.number().int(), failed: z.number().int() }),
  })
  .meta({ id: 'Queue' });

export const backendListSchema = z.object({ items: z.array(backendResourceSchema) }).meta({ id: 'BackendList' });
export const queueListSchema = z.object({ items: z.array(queueResourceSchema) }).meta({ id: 'QueueList' });
export const schemaListSchema = z.object({ items: z.array(z.object({ name: z.string(), url: z.string() })) }).meta({ id: 'SchemaList' });
