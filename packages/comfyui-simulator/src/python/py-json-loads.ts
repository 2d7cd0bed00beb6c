import { markFloat, markNumber, setKeyOrder } from './py-json-marks';

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
/** A run of characters a string holds as they are: no quote, backslash or control character. */
const PLAIN_RUN = /[^"\\\x00-\x1f]+/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class JsonSyntaxError extends Error {}

/**
 * json.loads(): like JSON.parse, plus what Python keeps and JavaScript drops (py-json-marks): float
 * literals stay floats (7.0), ints too large for a double keep their digits, dict keys keep their
 * order. Like Python it also reads NaN, Infinity and -Infinity. Throws on anything else it can't read.
 */
export function pyJsonLoads(text: string): unknown {
  let at = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at char ${at}`);
  };
  const skip = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const literal = (word: string, value: unknown) => {
    if (!text.startsWith(word, at)) fail('Expecting value');
    at += word.length;
    return value;
  };

  const readString = (): string => {
    at++; // opening quote
    let out = '';
    for (;;) {
      // Runs are copied whole, so a megabytes-long string costs milliseconds, not a step per character.
      PLAIN_RUN.lastIndex = at;
      if (PLAIN_RUN.test(text)) {
        out += text.slice(at, PLAIN_RUN.lastIndex);
        at = PLAIN_RUN.lastIndex;
      }
      if (at >= text.length) fail('Unterminated string');
      const ch = text[at++];
      if (ch === '"') return out;
      if (ch.charCodeAt(0) < 0x20) fail('Invalid control character');
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const esc = text[at++];
      if (esc === 'u') {
        const hex = text.slice(at, at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\uXXXX escape');
        out += String.fromCharCode(parseInt(hex, 16));
        at += 4;
      } else if (esc in ESCAPES) out += ESCAPES[esc];
      else fail('Invalid \\escape');
    }
  };

  /** Reads a value into holder[key], marking what JavaScript would lose. */
  const readInto = (holder: Record<string, unknown>, key: string): void => {
    skip();
    const ch = text[at];
    if (ch === '{') holder[key] = readObject();
    else if (ch === '[') holder[key] = readArray();
    else if (ch === '"') holder[key] = readString();
    else if (ch === 't') holder[key] = literal('true', true);
    else if (ch === 'f') holder[key] = literal('false', false);
    else if (ch === 'n') holder[key] = literal('null', null);
    else if (ch === 'N') holder[key] = literal('NaN', NaN);
    else if (ch === 'I') holder[key] = literal('Infinity', Infinity);
    else if (ch === '-' && text.startsWith('-Infinity', at)) holder[key] = literal('-Infinity', -Infinity);
    else {
      NUMBER.lastIndex = at;
      const match = NUMBER.exec(text);
      if (!match) return fail('Expecting value');
      at += match[0].length;
      const value = Number(match[0]);
      holder[key] = value;
      if (match[1] !== undefined || match[2] !== undefined) markFloat(holder, key, value);
      else if (!Number.isSafeInteger(value)) markNumber(holder, key, value, BigInt(match[0]).toString());
    }
  };

  const readArray = (): unknown[] => {
    at++;
    const out: unknown[] = [];
    skip();
    if (text[at] === ']') {
      at++;
      return out;
    }
    for (;;) {
      readInto(out as unknown as Record<string, unknown>, String(out.length));
      skip();
      if (text[at] === ']') {
        at++;
        return out;
      }
      if (text[at] !== ',') fail("Expecting ',' delimiter");
      at++;
    }
  };

  const readObject = (): Record<string, unknown> => {
    at++;
    const out: Record<string, unknown> = {};
    // Kept even where it agrees with JavaScript's: an integer-like key added later would jump ahead.
    const order: string[] = [];
    setKeyOrder(out, order);
    skip();
    if (text[at] === '}') {
      at++;
      return out;
    }
    for (;;) {
      skip();
      if (text[at] !== '"') fail('Expecting property name enclosed in double quotes');
      const key = readString();
      skip();
      if (text[at++] !== ':') fail("Expecting ':' delimiter");
      // A repeated key keeps its first place and takes the last value, as in a Python dict.
      if (!Object.prototype.hasOwnProperty.call(out, key)) {
        order.push(key);
        // "__proto__" must become data, not the object's prototype.
        if (key === '__proto__') Object.defineProperty(out, key, { value: undefined, enumerable: true, writable: true, configurable: true });
      }
      readInto(out, key);
      skip();
      if (text[at] === '}') {
        at++;
        break;
      }
      if (text[at] !== ',') fail("Expecting ',' delimiter");
      at++;
    }
    return out;
  };

  const root: Record<string, unknown> = {};
  readInto(root, '');
  skip();
  if (at !== text.length) fail('Extra data');
  return root[''];
}
