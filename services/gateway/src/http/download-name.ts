import contentDisposition from 'content-disposition';

const MAX_NAME_LENGTH = 120;

/**
 * At most MAX_NAME_LENGTH UTF-16 units, keeping a short extension and never splitting a surrogate
 * pair: a lone half made the header's percent-encoding throw (a 400 for a valid URL), and a plain
 * cut left a long label's download without its `.png`.
 */
function shorten(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  const extension = /\.[A-Za-z0-9]{1,16}$/.exec(name)?.[0] ?? '';
  const stem = name.slice(0, MAX_NAME_LENGTH - extension.length).replace(/[\ud800-\udbff]$/, '');
  return `${stem.replace(/[\s.]+$/, '')}${extension}`;
}

/**
 * A file name safe to show a browser: no control characters, quotes, path separators or
 * characters Windows refuses; `fallback` when nothing is left.
 */
function cleanName(name: string, fallback: string): string {
  const cleaned = name
    .normalize('NFC')
    // Controls (CR, LF, NUL…), quotes, separators, Windows-reserved characters, lone surrogates.
    .replace(/[\u0000-\u001f\u007f-\u009f"'\\/:*?<>|%;]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return shorten(cleaned) || fallback;
}

const toAscii = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+|[._]+$/g, '');

/**
 * The plain-ASCII spelling for clients that ignore `filename*`: letters, digits, `.`, `-`, `_`.
 * A name with nothing ASCII before its extension (`日本.png`) would shrink to the bare extension
 * (`png`): the fallback takes its place, keeping the extension.
 */
function asciiName(name: string, fallback: string): string {
  const extension = /\.[A-Za-z0-9]{1,16}$/.exec(name)?.[0] ?? '';
  if (!/[A-Za-z0-9]/.test(toAscii(name.slice(0, name.length - extension.length)))) {
    return fallback.endsWith(extension) ? fallback : `${fallback}${extension}`;
  }
  const ascii = shorten(toAscii(name));
  return /[A-Za-z0-9]/.test(ascii) ? ascii : fallback;
}

/**
 * `Content-Disposition: attachment` for a download: browsers save the file instead of showing it
 * (an image with an HTML tail is never rendered as a page). `filename` is ASCII-safe; `filename*`
 * carries the UTF-8 name when it differs.
 */
export function attachmentHeader(name: string, fallback = 'download'): string {
  const unicode = cleanName(name, fallback);
  const ascii = asciiName(unicode, fallback);
  return contentDisposition(unicode, { type: 'attachment', fallback: ascii });
}
