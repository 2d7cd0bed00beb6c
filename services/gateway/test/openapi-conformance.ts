import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { apiDocument } from '../src/http/openapi/api-document';

// Checks a real answer of the gateway against the OpenAPI document, its body and the headers in
// DECLARED_HEADERS: the test clients (http-client.ts, the e2e fixture's axios, the raw requests of
// file-ranges and request-bodies) call it on every response, so every answer the suite sees is checked.

type Document = ReturnType<typeof apiDocument>;
/** A header as a response declares it: inline, or a reference to components/headers. */
type HeaderDeclaration = { schema?: { type?: string } } | { $ref: string };
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }>; headers?: Record<string, HeaderDeclaration> }>;
}

const document: Document = apiDocument();
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const compiled = new Map<string, ValidateFunction>();

const templates = Object.keys(document.paths ?? {}).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** The documented operation answering a concrete method and path, if any. */
function operationFor(method: string, pathname: string): { template: string; operation: Operation } | null {
  // A literal segment beats a parameter (/characters/import over /characters/{idOrSlug}).
  const matches = templates.filter((t) => t.pattern.test(pathname)).sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  for (const { template } of matches) {
    const operation = (document.paths as Record<string, Record<string, Operation>>)[template][method.toLowerCase()];
    if (operation) return { template, operation };
  }
  return null;
}

/** Headers an answer may carry only where the document declares them, each with a value its schema allows. */
export const DECLARED_HEADERS = [
  'Location',
  'ETag',
  'Last-Modified',
  'Retry-After',
  'Content-Range',
  'Accept-Ranges',
  'X-Bundle-Omitted-References',
  'X-Bundle-Restored-References',
  'Content-Disposition',
  'Cache-Control',
  'X-Request-Id',
  'WWW-Authenticate',
  'RateLimit-Policy',
  'RateLimit',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'Idempotent-Replayed',
];

/** A fetch Headers, axios's headers, or node:http's (lower-case names). */
export type SeenHeaders = { get(name: string): unknown } | Record<string, unknown>;

export interface SeenAnswer {
  method: string;
  url: string;
  status: number;
  contentType: string | null;
  body: unknown;
  /** The answer's headers: each of DECLARED_HEADERS it carries must be declared for its route and status. */
  headers?: SeenHeaders;
  /** The Location header alone, for a client that read only that one. */
  location?: string | null;
}

/** Throws when the answer is not one the document describes for its route and status. */
export function checkAgainstApiDocument(answer: SeenAnswer): void {
  const pathname = new URL(answer.url, 'http://x').pathname;
  if (!pathname.startsWith('/api/') && !['/healthz', '/readyz', '/metrics'].includes(pathname)) return;
  if (pathname.startsWith('/api/docs')) return;
  const found = operationFor(answer.method, pathname);
  const where = `${answer.method} ${pathname} → ${answer.status}`;
  if (!found) {
    // An unknown route may only be the JSON 404, or a refusal that comes before routing (auth, limits, input checks).
    if ([400, 401, 403, 404, 405, 408, 413, 429].includes(answer.status)) return checkBody(`${where} (no such route)`, 'Error', errorSchema(), answer.body);
    throw new Error(`${where}: the OpenAPI document has no such operation`);
  }
  const response = found.operation.responses[String(answer.status)];
  if (!response) throw new Error(`${where}: status ${answer.status} is not documented for ${answer.method} ${found.template}`);
  checkHeaders(where, `${answer.method} ${found.template}`, response.headers ?? {}, answer);
  const json = response.content?.['application/json'];
  if (!json) return; // a file, or no body
  if (!answer.contentType?.includes('application/json')) throw new Error(`${where}: documented as JSON, sent ${answer.contentType}`);
  checkBody(where, `${answer.method} ${found.template} ${answer.status}`, json.schema, answer.body);
}

function headerValue(headers: SeenHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const value = typeof headers.get === 'function' ? (headers as { get(name: string): unknown }).get(name) : Object.entries(headers).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The header a declaration names, itself or the one of components/headers it refers to. */
function resolveHeader(declaration: HeaderDeclaration): { schema?: { type?: string } } {
  if (!('$ref' in declaration)) return declaration;
  const name = declaration.$ref.replace(/^#\/components\/headers\//, '');
  const header = (document.components?.headers as Record<string, { schema?: { type?: string } }> | undefined)?.[name];
  if (!header) throw new Error(`the OpenAPI document refers to a header it does not declare: ${declaration.$ref}`);
  return header;
}

function checkHeaders(where: string, operation: string, declared: Record<string, HeaderDeclaration>, answer: SeenAnswer): void {
  for (const name of DECLARED_HEADERS) {
    const value = headerValue(answer.headers, name) ?? (name === 'Location' ? answer.location ?? undefined : undefined);
    if (value === undefined) continue;
    const reference = Object.entries(declared).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
    if (!reference) throw new Error(`${where}: sent a ${name} header the document does not declare for ${operation}`);
    const declaration = resolveHeader(reference);
    if (!declaration.schema) continue;
    const typed = declaration.schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value;
    const key = `${operation} ${answer.status} header ${name}`;
    let validate = compiled.get(key);
    if (!validate) {
      validate = ajv.compile(declaration.schema);
      compiled.set(key, validate);
    }
    if (!validate(typed)) throw new Error(`${where}: its ${name} header (${value}) does not match the document: ${ajv.errorsText(validate.errors)}`);
  }
}

function errorSchema(): object {
  return { $ref: '#/components/schemas/Error' };
}

function checkBody(where: string, key: string, schema: object, body: unknown): void {
  let validate = compiled.get(key);
  if (!validate) {
    validate = ajv.compile({ ...schema, components: document.components });
    compiled.set(key, validate);
  }
  if (!validate(body)) {
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new Error(`${where}: the body does not match the OpenAPI document: ${problems}`);
  }
}
