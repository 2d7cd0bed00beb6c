/**
 * request.charset as aiohttp 3.8.4 reads it: email's HeaderParser on "Content-Type: <header>", then
 * get_params() without its first item. The header is cut at each ';' outside double quotes; the first
 * piece is the media type; every other is `name=value` (a piece without '=' is a name with an empty
 * value), the name trimmed and lower-cased, the value trimmed and unquoted as email.utils.unquote
 * does. The last `charset` wins. undefined when there is none (no header, or no such parameter); an
 * empty value comes back as '', which request.text() treats as no charset (`self.charset or "utf-8"`).
 * RFC 2231 parameters (charset*=…) are not read.
 */
export function contentTypeCharset(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let charset: string | undefined;
  for (const piece of splitParams(header).slice(1)) {
    const equals = piece.indexOf('=');
    const name = (equals === -1 ? piece : piece.slice(0, equals)).trim().toLowerCase();
    if (name === 'charset') charset = unquote(equals === -1 ? '' : piece.slice(equals + 1).trim());
  }
  return charset;
}

/** email.message._parseparam's split: at ';', unless the quotes before it (escaped ones aside) are unbalanced. */
function splitParams(header: string): string[] {
  const pieces: string[] = [];
  let rest = header;
  for (;;) {
    let end = rest.indexOf(';');
    while (end > 0 && (count(rest.slice(0, end), '"') - count(rest.slice(0, end), '\\"')) % 2) end = rest.indexOf(';', end + 1);
    if (end < 0) {
      pieces.push(rest.trim());
      return pieces;
    }
    pieces.push(rest.slice(0, end).trim());
    rest = rest.slice(end + 1);
  }
}

function count(text: string, what: string): number {
  return text.split(what).length - 1;
}

/** email.utils.unquote: a value wrapped in '"' loses them and has \\ and \" undone; one wrapped in <> loses those. */
function unquote(value: string): string {
  if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\\\/g, '\\').replace(/\\"/g, '"');
  if (value.length > 1 && value.startsWith('<') && value.endsWith('>')) return value.slice(1, -1);
  return value;
}
