import { formatWorkflowRef, isFilledParam, type GenerationParams, type TemplateParamValue, type TemplateParams, type WorkflowRef } from '@anime/contracts';
import { valueProblem } from './validate-template';
import { someNames, type WorkflowIssue } from './workflow-domain-error';

/**
 * A generation's `params` checked against its template: each must be a parameter the template
 * declares and the request may set (not one the system fills, nor an image or LoRA slot), of its
 * type and within its bounds. Returns the values to bind, the template's defaults filled in for
 * what the request left out, or the issues, each at `params.<name>`.
 */
export function checkParams(ref: WorkflowRef, declared: TemplateParams, given: GenerationParams = {}): { values: Record<string, TemplateParamValue>; issues: WorkflowIssue[] } {
  const issues: WorkflowIssue[] = [];
  const values: Record<string, TemplateParamValue> = {};
  const label = formatWorkflowRef(ref);
  const settable = Object.entries(declared).filter(([n, s]) => !isFilledParam(n) && s.type !== 'image' && s.type !== 'loras').map(([n]) => n);
  for (const [name, value] of Object.entries(given)) {
    const spec = Object.prototype.hasOwnProperty.call(declared, name) ? declared[name] : undefined;
    const problem = !spec
      ? `workflow ${label} has no parameter "${name}"${settable.length ? `; it takes ${someNames(settable)}` : ''}`
      : isFilledParam(name)
        ? `"${name}" is filled from the request's own fields and the character, not from params`
        : valueProblem(spec, value);
    if (problem) issues.push({ path: `params.${name}`, message: problem });
    else values[name] = value;
  }
  for (const [name, spec] of Object.entries(declared)) {
    if (!Object.prototype.hasOwnProperty.call(values, name) && !isFilledParam(name) && spec.default !== undefined) values[name] = spec.default;
  }
  return { values, issues };
}
