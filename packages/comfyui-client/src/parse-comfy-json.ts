/** The three bare tokens Python's json.dumps writes for floats that JSON has no text for. */
const PYTHON_FLOAT_TOKENS = ['NaN', 'Infinity', '-Infinity'];

/**
 * JSON as ComfyUI writes it. ComfyUI answers with Python's json.dumps, which writes NaN, Infinity and
 * -Infinity as bare tokens: a LoadImage whose file is missing, in a prompt that does not need it,
 * keeps an `is_changed` of NaN in the prompt /history returns. Such a body is read with those tokens
 * as null (as JSON.stringify writes them). Text that is not JSON even then comes back unchanged.
 * Valid JSON costs one JSON.parse, as before.
 */
export function parseComfyJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Below: only a body that is not strict JSON pays for the scan.
  }
  const repaired = pythonFloatsAsNull(text);
  if (repaired === undefined) return text;
  try {
    return JSON.parse(repaired);
  } catch {
    return text;
  }
}

/** The text with every NaN, Infinity and -Infinity outside strings written as null; undefined when it has none. */
function pythonFloatsAsNull(text: string): string | undefined {
  let out = '';
  let copiedTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      continue;
    }
    if (ch !== 0x4e /* N */ && ch !== 0x49 /* I */ && ch !== 0x2d /* - */) continue;
    const token = PYTHON_FLOAT_TOKENS.find((t) => text.startsWith(t, i));
    if (!token) continue;
    out += `${text.slice(copiedTo, i)}null`;
    i += token.length - 1;
    copiedTo = i + 1;
  }
  return copiedTo === 0 ? undefined : out + text.slice(copiedTo);
}
