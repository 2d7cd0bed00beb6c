/**
 * Workflow templates a generation may name in `workflow` (`slug` or `slug@version`): the built-in
 * text-to-image template, built per job by the orchestrator, and the templates studios register
 * (`POST /api/v1/workflows`, stored in `workflow_templates`; see packages/workflows).
 */
export const BUILT_IN_WORKFLOWS = [{ slug: 'txt2img', version: 1, name: 'Built-in text-to-image' }] as const;
export const DEFAULT_WORKFLOW = 'txt2img';

export interface WorkflowRef {
  slug: string;
  version: number;
}

/** `slug` or `slug@N`; null when the value is neither. */
export function parseWorkflowRef(ref: string): { slug: string; version?: number } | null {
  const match = /^([^@\s]+?)(?:@(\d{1,9}))?$/.exec(ref.trim());
  if (!match) return null;
  return match[2] === undefined ? { slug: match[1] } : { slug: match[1], version: Number(match[2]) };
}

/** The built-in template a `workflow` value names, or null when it names none. */
export function findBuiltInWorkflow(ref: string): WorkflowRef | null {
  const parsed = parseWorkflowRef(ref);
  if (!parsed) return null;
  const found = BUILT_IN_WORKFLOWS.find((w) => w.slug === parsed.slug && (parsed.version === undefined || parsed.version === w.version));
  return found ? { slug: found.slug, version: found.version } : null;
}

export const isBuiltInWorkflow = (ref: WorkflowRef) => BUILT_IN_WORKFLOWS.some((w) => w.slug === ref.slug && w.version === ref.version);

export const formatWorkflowRef = (ref: WorkflowRef) => `${ref.slug}@${ref.version}`;
