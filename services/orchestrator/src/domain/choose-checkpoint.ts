/**
 * The workflow's or character's checkpoint when the backend has it; else DEFAULT_CHECKPOINT
 * when set; else the first checkpoint the backend lists. Null when the backend lists none and
 * nothing was asked for (ComfyUI will then refuse the prompt with its own validation error).
 */
export function chooseCheckpoint(available: string[], wanted: string | undefined, fallback: string | undefined): string | null {
  if (wanted && available.includes(wanted)) return wanted;
  if (fallback) return fallback;
  return available[0] ?? wanted ?? null;
}
