/** A reference image a job's conditioning uses; `path` is relative to LIBRARY_DIR. */
export interface ConditioningReference {
  id: string;
  label: string;
  kind: string;
  sha256: string;
  path: string;
}

/**
 * What the character service records on a job (`generation_jobs.conditioning`) from one character
 * version and the request, for the orchestrator and the file-organizer to read.
 */
export interface JobConditioning {
  positive: string;
  negative: string;
  loras: { name: string; weight: number }[];
  checkpoint?: string;
  references: ConditioningReference[];
  outfit: string | null;
}
