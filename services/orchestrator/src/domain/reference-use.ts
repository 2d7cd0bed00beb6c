import type { ReferenceUse, TemplateParamSpec } from '@anime/contracts';
import { assignReferences } from './bind-template';
import { conditioningReferenceIndex } from './build-workflow';

interface Reference {
  sha256: string;
  kind: string;
}

/**
 * What the built-in txt2img graph does with each reference on one backend. Only IP-Adapter makes
 * a reference condition the model; without its nodes (or with IPADAPTER_WEIGHT 0) the LoadImage
 * nodes feed nothing and ComfyUI never runs them.
 */
export function txt2imgReferenceUse(references: Reference[], options: { ipAdapterOnBackend: boolean; weight: number }): ReferenceUse {
  const chosen = conditioningReferenceIndex(references);
  return references.map((reference, index) => {
    if (!options.ipAdapterOnBackend) return { sha256: reference.sha256, applied: false, appliedHow: { reason: 'no_ipadapter_on_backend' as const } };
    if (options.weight <= 0) return { sha256: reference.sha256, applied: false, appliedHow: { reason: 'ipadapter_disabled' as const } };
    if (index !== chosen) return { sha256: reference.sha256, applied: false, appliedHow: { reason: 'not_used' as const } };
    return { sha256: reference.sha256, applied: true, appliedHow: { method: 'ipadapter' as const, weight: options.weight } };
  });
}

/** A template feeds the references its image parameters take (see bindTemplate); the rest are not used. */
export function templateReferenceUse(references: Reference[], params: Record<string, TemplateParamSpec>): ReferenceUse {
  const taken = new Map([...assignReferences(params, references)].map(([param, reference]) => [reference, param]));
  return references.map((reference) => {
    const param = taken.get(reference);
    return param === undefined
      ? { sha256: reference.sha256, applied: false, appliedHow: { reason: 'not_used' as const } }
      : { sha256: reference.sha256, applied: true, appliedHow: { method: 'template' as const, param } };
  });
}

/** Whether a graph feeds at least one reference into the model. */
export const conditionsOnReferences = (use: ReferenceUse) => use.some((u) => u.applied);
