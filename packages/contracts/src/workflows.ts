/**
 * Workflow templates a generation may name in `workflow` (`slug` or `slug@version`). Only the
 * built-in text-to-image template exists for now; registered templates will join this lookup.
 */
export const BUILT_IN_WORKFLOWS = [{ slug: 'txt2img', version: 1 }] as const;
export const DEFAULT_WORKFLOW = 'txt2img';

export interface WorkflowRef {
  slug: string;
  version: number;
}

/** The template a `workflow` value names, or null when there is none such. */
export function findBuiltInWorkflow(ref: string): WorkflowRef | null {
  const match = /^([^@]+?)(?:@(\d+))?$/.exec(ref.trim());
  if (!match) return null;
  const found = BUILT_IN_WORKFLOWS.find((w) => w.slug === match[1] && (match[2] === undefined || Number(match[2]) === w.version));
  return found ? { slug: found.slug, version: found.version } : null;
}

export const availableWorkflows = () => BUILT_IN_WORKFLOWS.map((w) => `${w.slug}@${w.version}`);
