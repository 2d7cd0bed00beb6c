import { z } from 'zod';
import { webhookUrlSchema } from './webhooks';

/** Every `pattern` the published JSON Schema of a webhook URL holds (what a client validates with). */
function publishedPatterns(): RegExp[] {
  const patterns: RegExp[] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    const { pattern } = node as { pattern?: unknown };
    if (typeof pattern === 'string') patterns.push(new RegExp(pattern, 'u'));
    Object.values(node).forEach(walk);
  };
  walk(z.toJSONSchema(webhookUrlSchema));
  return patterns;
}

describe('webhookUrlSchema, as published', () => {
  it('when a URL holds a user name or password, then a pattern of the published schema refuses it, as the API does', () => {
    const patterns = publishedPatterns();
    for (const url of ['https://u:p@hooks.example/x', 'https://u@hooks.example', 'http://ops:pw@[::1]:8443/hook', 'https:///u:p@hooks.example/']) {
      expect(webhookUrlSchema.safeParse(url).success).toBe(false);
      expect({ url, allMatch: patterns.every((p) => p.test(url)) }).toEqual({ url, allMatch: false });
    }
  });

  it("when a URL holds '@' only in its path, query or fragment, or an IPv6 host and a port, then the schema and its patterns take it", () => {
    const patterns = publishedPatterns();
    for (const url of ['https://hooks.example/p@x', 'https://hooks.example/?to=a@b.c', 'https://hooks.example:8443#a@b', 'http://[2001:db8::1]:8080/x@y', 'HTTPS://HOOKS.EXAMPLE/x']) {
      expect({ url, ok: webhookUrlSchema.safeParse(url).success }).toEqual({ url, ok: true });
      expect({ url, allMatch: patterns.every((p) => p.test(url)) }).toEqual({ url, allMatch: true });
    }
  });
});
