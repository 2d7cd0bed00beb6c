/**
 * The choices of a dropdown input in an /object_info entry. Legacy nodes declare `[[...options], {...}]`,
 * newer ones `["COMBO", {options: [...]}]`; both are read.
 */
export function comboOptions(objectInfo: any, className: string, inputName: string): string[] {
  const inputs = objectInfo?.[className]?.input ?? {};
  const spec = inputs.required?.[inputName] ?? inputs.optional?.[inputName];
  if (!Array.isArray(spec)) return [];
  if (Array.isArray(spec[0])) return spec[0].map(String);
  if (spec[0] === 'COMBO' && Array.isArray(spec[1]?.options)) return spec[1].options.map(String);
  return [];
}
