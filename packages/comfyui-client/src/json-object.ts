/** A JSON object (not null, not an array): what ComfyUI answers where it answers with fields. */
export const isJsonObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
