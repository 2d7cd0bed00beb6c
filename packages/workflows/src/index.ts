export { WorkflowDomainError, describeIssues, type WorkflowErrorCode, type WorkflowIssue } from './workflow-domain-error';
export { validateTemplate, valueProblem, isLinkShaped, type TemplateCheck, type TemplateWarning } from './validate-template';
export { capabilityWarnings, type BackendCapabilities } from './capability-warnings';
export { checkParams } from './check-params';
export { findWorkflow, readTemplateVersion, workflowNotFound, type ChosenWorkflow } from './find-workflow';
export { registerWorkflow, type RegisteredWorkflow } from './register-workflow';
export { resolveWorkflowRequest, type WorkflowChoice } from './resolve-workflow-request';
export { loadTemplateVersion, type TemplateVersion } from './load-template-version';
