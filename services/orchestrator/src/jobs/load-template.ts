import type { JobConditioning } from '@anime/contracts';
import type { Db } from '@anime/db';
import { WorkflowNotFoundError } from '@anime/pipeline';
import { loadTemplateVersion, WorkflowDomainError, type TemplateVersion } from '@anime/workflows';

/** The registered template version a generation recorded (null: the built-in), its absence a workflow_not_found fault. */
export async function loadTemplate(db: Db, conditioning: JobConditioning): Promise<TemplateVersion | null> {
  try {
    return await loadTemplateVersion(db, conditioning);
  } catch (error) {
    if (error instanceof WorkflowDomainError && error.code === 'workflow_not_found') {
      throw new WorkflowNotFoundError(error.message, error.details as { workflow: string; available: string[] });
    }
    throw error;
  }
}
