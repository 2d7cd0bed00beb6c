import { formatWorkflowRef, isBuiltInWorkflow, type JobConditioning, type TemplateGraph, type TemplateParams, type WorkflowRef } from '@anime/contracts';
import type { Db } from '@anime/db';
import { readTemplateVersion } from './find-workflow';
import { WorkflowDomainError } from './workflow-domain-error';

/** A registered template version with the values a generation gives its parameters. */
export interface TemplateVersion {
  ref: WorkflowRef;
  graph: TemplateGraph;
  params: TemplateParams;
  values: Record<string, string | number | boolean>;
}

/**
 * The registered template a resolved generation recorded, or null for the built-in txt2img
 * (also what rows resolved before templates existed ran). Versions are immutable, so every
 * attempt of the generation gets the same graph.
 *
 * @throws WorkflowDomainError `workflow_not_found` when the recorded version is not stored.
 */
export async function loadTemplateVersion(db: Db, conditioning: Pick<JobConditioning, 'workflow'>): Promise<TemplateVersion | null> {
  const chosen = conditioning.workflow;
  if (!chosen || isBuiltInWorkflow(chosen)) return null;
  const row = await db.workflowTemplateVersion.findFirst({ where: { number: chosen.version, template: { slug: chosen.slug } } });
  const label = formatWorkflowRef(chosen);
  if (!row) throw new WorkflowDomainError('workflow_not_found', `workflow ${label}, recorded on the generation, is not stored`, { workflow: label, available: [] });
  return { ref: { slug: chosen.slug, version: chosen.version }, ...readTemplateVersion(row, label), values: chosen.params };
}
