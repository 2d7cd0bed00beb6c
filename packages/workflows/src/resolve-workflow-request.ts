import { DEFAULT_WORKFLOW, type GenerationRequestBody, type JobConditioning } from '@anime/contracts';
import type { Db } from '@anime/db';
import { checkParams } from './check-params';
import { findWorkflow } from './find-workflow';
import { issuesRefusal } from './workflow-domain-error';

export type WorkflowChoice = NonNullable<JobConditioning['workflow']>;

/**
 * The template version a generation runs and the values of its parameters, as recorded in its
 * conditioning when it is resolved: the gateway calls it to refuse a bad request with a 400, the
 * character service to fail a queue producer's job, and both get the same answer.
 *
 * @throws WorkflowDomainError `workflow_not_found`, or `validation_failed` with each bad
 *   parameter at `params.<name>`.
 */
export async function resolveWorkflowRequest(db: Db, request: Pick<GenerationRequestBody, 'workflow' | 'params'>): Promise<WorkflowChoice> {
  const chosen = await findWorkflow(db, request.workflow ?? DEFAULT_WORKFLOW);
  const { values, issues } = checkParams(chosen.ref, chosen.params, request.params);
  if (issues.length) throw issuesRefusal('validation_failed', 'invalid request body', issues);
  return { slug: chosen.ref.slug, version: chosen.ref.version, params: values };
}
