import {
  BUILT_IN_WORKFLOWS,
  findBuiltInWorkflow,
  formatWorkflowRef,
  parseWorkflowRef,
  templateGraphSchema,
  templateParamsSchema,
  type TemplateGraph,
  type TemplateParams,
  type WorkflowRef,
} from '@anime/contracts';
import type { Db } from '@anime/db';
import { WorkflowDomainError } from './workflow-domain-error';

/** A template version a generation can run: the built-in one (built per job), or a stored graph. */
export type ChosenWorkflow =
  | { builtIn: true; ref: WorkflowRef; params: TemplateParams }
  | { builtIn: false; ref: WorkflowRef; graph: TemplateGraph; params: TemplateParams };

/**
 * The template a `workflow` value (`slug` or `slug@N`) names: the built-in txt2img, or a
 * registered template's version N (else its current one).
 *
 * @throws WorkflowDomainError `workflow_not_found` with `details.available` (`slug@current` of each).
 */
export async function findWorkflow(db: Db, ref: string): Promise<ChosenWorkflow> {
  const builtIn = findBuiltInWorkflow(ref);
  if (builtIn) return { builtIn: true, ref: builtIn, params: {} };
  const parsed = parseWorkflowRef(ref);
  const template = parsed ? await db.workflowTemplate.findUnique({ where: { slug: parsed.slug } }) : null;
  const number = parsed?.version ?? template?.currentVersion;
  const version = template && number ? await db.workflowTemplateVersion.findUnique({ where: { templateId_number: { templateId: template.id, number } } }) : null;
  if (!template || !version) throw await workflowNotFound(db, ref);
  const chosen = { slug: template.slug, version: version.number };
  return { builtIn: false, ref: chosen, ...readTemplateVersion(version, formatWorkflowRef(chosen)) };
}

/** A stored version's graph and parameter map, parsed: they were validated when registered. */
export function readTemplateVersion(row: { graph: unknown; params: unknown }, label: string): { graph: TemplateGraph; params: TemplateParams } {
  const graph = templateGraphSchema.safeParse(row.graph);
  const params = templateParamsSchema.safeParse(row.params);
  if (!graph.success || !params.success) throw new Error(`workflow template ${label} is stored malformed`);
  return { graph: graph.data, params: params.data };
}

/** The refusal of an unknown workflow, listing what exists (`slug@current` of each). */
export async function workflowNotFound(db: Db, ref: string): Promise<WorkflowDomainError> {
  const stored = await db.workflowTemplate.findMany({ where: { currentVersion: { gt: 0 } }, orderBy: { slug: 'asc' }, take: 50, select: { slug: true, currentVersion: true } });
  const available = [...BUILT_IN_WORKFLOWS.map(formatWorkflowRef), ...stored.map((t) => formatWorkflowRef({ slug: t.slug, version: t.currentVersion }))];
  return new WorkflowDomainError('workflow_not_found', `no workflow "${ref}"; available: ${available.join(', ')}`, { workflow: ref, available });
}
