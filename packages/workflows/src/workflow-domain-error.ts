export type WorkflowErrorCode = 'workflow_not_found' | 'version_not_found' | 'invalid_workflow' | 'validation_failed';

const STATUS: Record<WorkflowErrorCode, number> = {
  workflow_not_found: 404,
  version_not_found: 404,
  invalid_workflow: 400,
  validation_failed: 400,
};

/** A problem found in a graph, its parameter map or a generation's `params`, by path. */
export interface WorkflowIssue {
  path: string;
  message: string;
}

/** A refusal of the template domain: a stable snake_case code, the HTTP status it maps to, and details. */
export class WorkflowDomainError extends Error {
  readonly status: number;

  constructor(
    readonly code: WorkflowErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'WorkflowDomainError';
    this.status = STATUS[code];
  }
}

export const describeIssues = (issues: WorkflowIssue[]) => issues.map((i) => `${i.path}: ${i.message}`).join('; ');
