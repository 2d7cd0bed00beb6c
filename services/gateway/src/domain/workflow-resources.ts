import { BUILT_IN_WORKFLOWS } from '@anime/contracts';
import type { WorkflowTemplate, WorkflowTemplateVersion } from '@anime/db';

// The built-in txt2img has no stored graph: the orchestrator builds it per job from the request,
// the character's conditioning and what the backend has (LoRA chain, references, IP-Adapter).
const BUILT_IN_NOTE = 'built per job by the orchestrator: checkpoint → LoRA chain → prompts → KSampler → SaveImage';

export const toWorkflowVersionResource = (v: WorkflowTemplateVersion) => ({
  number: v.number,
  name: v.name,
  graph: v.graph,
  params: v.params,
  note: v.note,
  createdAt: v.createdAt,
});

export const toWorkflowListItem = (t: WorkflowTemplate) => ({ slug: t.slug, name: t.name, currentVersion: t.currentVersion, builtIn: false });

export function toWorkflowDetail(t: WorkflowTemplate, current: WorkflowTemplateVersion) {
  return { id: t.id, ...toWorkflowListItem(t), currentVersion: toWorkflowVersionResource(current), versionCount: t.currentVersion, createdAt: t.createdAt };
}

export const builtInListItems = () => BUILT_IN_WORKFLOWS.map((w) => ({ slug: w.slug, name: w.name, currentVersion: w.version, builtIn: true }));

export function builtInDetail(slug: string) {
  const w = BUILT_IN_WORKFLOWS.find((b) => b.slug === slug);
  if (!w) return null;
  const version = { number: w.version, name: w.name, graph: null, params: {}, note: BUILT_IN_NOTE, createdAt: null };
  return { id: null, slug: w.slug, name: w.name, builtIn: true, currentVersion: version, versionCount: 1, createdAt: null };
}
