import type { IncomingMessage, ServerResponse } from 'node:http';
import { pyDecode } from '../python/py-decode';
import { pyJsonDumps } from '../python/py-json-dumps';
import { pyJsonLoads } from '../python/py-json-loads';
import { contentTypeCharset } from './content-type-charset';
import { clearRouteHeaders } from './server-headers';

const MAX_BODY_BYTES = 100 * 1024 * 1024;

/** aiohttp's json_response: Python's json.dumps text. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = Buffer.from(pyJsonDumps(body), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': text.length });
  res.end(text);
}

/**
 * web.Response(status=N): no body at all. Whether aiohttp still gives it its default Content-Type
 * (application/octet-stream) depends on the server version (see server-profile.ts); undefined sends none.
 */
export function sendEmpty(res: ServerResponse, status: number, contentType: string | undefined): void {
  const headers: Record<string, string | number> = { 'Content-Length': 0 };
  if (contentType !== undefined) headers['Content-Type'] = contentType;
  res.writeHead(status, headers);
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

/**
 * What aiohttp answers when a handler raises, e.g. on a body that isn't JSON: the exception passes
 * through ComfyUI's middlewares, so the answer has no Content-Security-Policy
 * (29_non_json_body_post_prompt_response.json).
 */
export function sendServerError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  clearRouteHeaders(res);
  res.setHeader('Connection', 'close');
  sendText(res, 500, '500 Internal Server Error\n\nServer got itself in trouble');
}

export class BodyError extends Error {}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyError('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * request.text(): the body decoded with the Content-Type's charset, or UTF-8 without one
 * (`bytes_body.decode(self.charset or "utf-8")`, aiohttp 3.8.4), strictly: bytes the codec can't read
 * raise UnicodeDecodeError, and a charset Python has no codec for raises LookupError; nothing catches
 * either, so the answer is a 500. A BOM is kept, as Python's utf-8 codec keeps it. The request's
 * media type is not looked at: request.json() reads a text/plain body all the same.
 */
export async function readText(req: IncomingMessage): Promise<string> {
  const body = await readBody(req);
  try {
    return pyDecode(body, contentTypeCharset(req.headers['content-type']) || 'utf-8');
  } catch (error) {
    throw new BodyError(`body can't be decoded: ${(error as Error).message}`);
  }
}

/**
 * request.json(): Python's json.loads, so what is echoed back later (history, /queue, the PNG's prompt)
 * keeps Python's floats and key order. Throws (so the caller answers 500) when the body can't be
 * decoded or isn't JSON.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readText(req);
  try {
    return pyJsonLoads(text);
  } catch {
    throw new BodyError('body is not JSON');
  }
}

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
