import { UNNAMEABLE } from '../run/read-history';

/**
 * The choices of a dropdown input in an /object_info entry. Legacy nodes declare `[[...options], {...}]`,
 * newer ones `["COMBO", {options: [...]}]`; both are read.
 */
export function comboOptions(objectInfo: any, className: string, inputName: string): string[] {
  const inputs = objectInfo?.[className]?.input ?? {};
  const spec = inputs.required?.[inputName] ?? inputs.optional?.[inputName];
  if (!Array.isArray(spec)) return [];
  // Names are strings: anything else in the list names no file ComfyUI would accept. A name with NUL
  // or a lone surrogate (Python's stand-in for bytes that are not UTF-8) can be neither asked for nor stored.
  const names = (options: unknown[]) => options.filter((option): option is string => typeof option === 'string' && !UNNAMEABLE.test(option));
  if (Array.isArray(spec[0])) return names(spec[0]);
  if (spec[0] === 'COMBO' && Array.isArray(spec[1]?.options)) return names(spec[1].options);
  return [];
}
