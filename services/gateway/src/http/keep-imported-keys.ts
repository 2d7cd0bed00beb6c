const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A definition an import wrote keeps keys the schema has no field for (a legacy `voice_notes`);
 * validation strips them. A patch of such a version carries them over, as the patch left them
 * (it may change or delete them), so patching one field never loses the others. Keys the base
 * version did not have are dropped, as a full body's unknown keys are. Objects are walked key by
 * key; arrays are taken as validated. The writer's size limit still bounds the result.
 */
export function keepImportedKeys(validated: unknown, patched: unknown, base: unknown): unknown {
  if (!isObject(validated) || !isObject(patched)) return validated;
  const result: Record<string, unknown> = { ...validated };
  for (const key of Object.keys(patched)) {
    const baseValue = isObject(base) && Object.hasOwn(base, key) ? base[key] : undefined;
    if (!Object.hasOwn(validated, key)) {
      if (baseValue !== undefined) Object.defineProperty(result, key, { value: patched[key], enumerable: true, writable: true, configurable: true });
    } else {
      result[key] = keepImportedKeys(validated[key], patched[key], baseValue);
    }
  }
  return result;
}
