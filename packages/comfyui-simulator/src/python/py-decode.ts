import { PyException } from './py-exception';

/**
 * bytes.decode(encoding) (strict) for the codecs a JSON body's charset is likely to name: Python's
 * Unicode codecs, latin-1, ascii and cp1252, under every alias Python's encodings package gives them.
 * The name is looked up as codecs.lookup does (lower case, each run of characters other than letters,
 * digits and '.' made one '_', none at either end). Any other name raises LookupError, as an unknown
 * one does in Python; other real Python codecs (cp1251, shift_jis, …) are not carried here.
 */
export function pyDecode(bytes: Buffer, encoding: string): string {
  const decode = CODECS.get(lookupName(encoding));
  if (!decode) throw new PyException('LookupError', `unknown encoding: ${encoding}`);
  return decode(bytes);
}

function lookupName(encoding: string): string {
  const normalized = encoding
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return ALIASES.get(normalized) ?? ALIASES.get(normalized.replace(/\./g, '_')) ?? normalized;
}

/** encodings.aliases for the codecs below (Python 3.11). */
const ALIASES = new Map<string, string>([
  ...aliasesOf('utf_8', ['cp65001', 'u8', 'utf', 'utf8', 'utf8_ucs2', 'utf8_ucs4']),
  ...aliasesOf('latin_1', ['8859', 'cp819', 'csisolatin1', 'ibm819', 'iso8859', 'iso8859_1', 'iso_8859_1', 'iso_8859_1_1987', 'iso_ir_100', 'l1', 'latin', 'latin1']),
  ...aliasesOf('ascii', ['646', 'ansi_x3.4_1968', 'ansi_x3.4_1986', 'ansi_x3_4_1968', 'cp367', 'csascii', 'ibm367', 'iso646_us', 'iso_646.irv_1991', 'iso_ir_6', 'us', 'us_ascii']),
  ...aliasesOf('utf_16', ['u16', 'utf16']),
  ...aliasesOf('utf_16_le', ['unicodelittleunmarked', 'utf_16le']),
  ...aliasesOf('utf_16_be', ['unicodebigunmarked', 'utf_16be']),
  ...aliasesOf('utf_32', ['u32', 'utf32']),
  ...aliasesOf('utf_32_le', ['utf_32le']),
  ...aliasesOf('utf_32_be', ['utf_32be']),
  ...aliasesOf('cp1252', ['1252', 'windows_1252']),
]);

function aliasesOf(codec: string, names: string[]): Array<[string, string]> {
  return names.map((name) => [name, codec]);
}

const BOM = 0xfeff;

function decodeError(codec: string, reason: string): PyException {
  return new PyException('UnicodeDecodeError', `'${codec}' codec can't decode bytes: ${reason}`);
}

/** A WHATWG decoder in fatal mode, the BOM kept as a character (as Python's codecs keep it). */
function strict(label: string, codec: string): (bytes: Buffer) => string {
  const decoder = new TextDecoder(label, { fatal: true, ignoreBOM: true });
  return (bytes) => {
    try {
      return decoder.decode(bytes);
    } catch {
      throw decodeError(codec, 'invalid data');
    }
  };
}

const utf8 = strict('utf-8', 'utf-8');
const utf16le = strict('utf-16le', 'utf-16-le');
const utf16be = strict('utf-16be', 'utf-16-be');

/** utf_16 and utf_32: a leading BOM picks the byte order and is dropped; without one, little-endian (the native order). */
function byBom(width: 2 | 4, little: (bytes: Buffer) => string, big: (bytes: Buffer) => string): (bytes: Buffer) => string {
  return (bytes) => {
    const le = width === 2 ? bytes.length >= 2 && bytes.readUInt16LE(0) === BOM : bytes.length >= 4 && bytes.readUInt32LE(0) === BOM;
    const be = width === 2 ? bytes.length >= 2 && bytes.readUInt16BE(0) === BOM : bytes.length >= 4 && bytes.readUInt32BE(0) === BOM;
    if (be) return big(bytes.subarray(width));
    return little(le ? bytes.subarray(width) : bytes);
  };
}

function utf32(littleEndian: boolean): (bytes: Buffer) => string {
  const codec = littleEndian ? 'utf-32-le' : 'utf-32-be';
  return (bytes) => {
    if (bytes.length % 4) throw decodeError(codec, 'truncated data');
    let out = '';
    for (let at = 0; at < bytes.length; at += 4) {
      const code = littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw decodeError(codec, 'code point not in range(0x110000)');
      out += String.fromCodePoint(code);
    }
    return out;
  };
}

/** cp1252's 0x80-0x9F (0x81, 0x8D, 0x8F, 0x90 and 0x9D are undefined: Python's strict decoding raises). */
const CP1252_HIGH = [
  0x20ac, -1, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, -1, 0x017d, -1,
  -1, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, -1, 0x017e, 0x0178,
];

function cp1252(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    const code = byte >= 0x80 && byte < 0xa0 ? CP1252_HIGH[byte - 0x80] : byte;
    if (code === -1) throw decodeError('charmap', 'character maps to <undefined>');
    out += String.fromCharCode(code);
  }
  return out;
}

function ascii(bytes: Buffer): string {
  if (bytes.some((byte) => byte >= 0x80)) throw decodeError('ascii', 'ordinal not in range(128)');
  return bytes.toString('latin1');
}

const CODECS = new Map<string, (bytes: Buffer) => string>(Object.entries({
  utf_8: utf8,
  utf_8_sig: (bytes) => utf8(bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes),
  latin_1: (bytes) => bytes.toString('latin1'),
  ascii,
  cp1252,
  utf_16: byBom(2, utf16le, utf16be),
  utf_16_le: utf16le,
  utf_16_be: utf16be,
  utf_32: byBom(4, utf32(true), utf32(false)),
  utf_32_le: utf32(true),
  utf_32_be: utf32(false),
}));
