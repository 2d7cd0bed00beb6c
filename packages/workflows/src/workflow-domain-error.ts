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

// A graph with thousands of bad links gets the first ones named, not an answer larger than the graph.
const MAX_ISSUES = 50;

/** A refusal listing at most MAX_ISSUES issues, then how many more there are (as the API's own validation does). */
export function issuesRefusal(code: WorkflowErrorCode, lead: string, issues: WorkflowIssue[]): WorkflowDomainError {
  const more = issues.length - MAX_ISSUES;
  const shown = more > 0 ? [...issues.slice(0, MAX_ISSUES), { path: '(body)', message: `and ${more} more problems` }] : issues;
  return new WorkflowDomainError(code, `${lead}: ${describeIssues(shown)}`, shown);
}

/** Names in a message: the first 20, then how many more (a node may have thousands of inputs). */
export const someNames = (names: string[]) => (names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', '));
