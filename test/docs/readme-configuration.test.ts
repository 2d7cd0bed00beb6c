import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_VARIABLES, SERVICE_SCHEMAS, type ServiceName } from '../infra/service-env';

// README's Configuration table against packages/config: every variable a service reads has a row,
// every row names variables something reads, and a default the schema gives is the one the row states.

const ROOT = path.resolve(__dirname, '..', '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Configuration'), readme.indexOf('\n## ', readme.indexOf('\n## Configuration') + 1));
/** Each row: the variables of its first cell, and its default cell. */
const rows = [...section.matchAll(/^\| ((?:`[A-Z0-9_]+`(?:, )?)+) \|([^|]*)\|/gm)].map((m) => ({
  variables: [...m[1].matchAll(/`([A-Z0-9_]+)`/g)].map((v) => v[1]),
  defaults: m[2],
}));
const documented = new Set(rows.flatMap((r) => r.variables));

/** Read by `pnpm start` and `pnpm demo` (scripts/default-env.ts), not by a service. */
const START_ONLY = ['SIMULATOR_PORT'];

/** What each service's schema gives a variable left unset (the required ones given, so the rest parse). */
function schemaDefaults(): Map<string, unknown> {
  const defaults = new Map<string, unknown>();
  const given: Record<string, string> = { DATABASE_URL: 'postgresql://u@h:5432/d', COMFYUI_URLS: 'http://h:8188', LIBRARY_DIR: '/library' };
  for (const service of Object.keys(SERVICE_SCHEMAS) as ServiceName[]) {
    const parsed = SERVICE_SCHEMAS[service].parse(given) as Record<string, unknown>;
    for (const [name, value] of Object.entries(parsed)) if (!(name in given)) defaults.set(name, value);
  }
  return defaults;
}

/** A cell's comma-separated items, commas inside parentheses left alone: `0.7 (0–3; …), \`info\` (…)` is two. */
function topLevelItems(cell: string): string[] {
  const items = [''];
  let depth = 0;
  for (const char of cell) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) items.push('');
    else items[items.length - 1] += char;
  }
  return items;
}

describe("README's Configuration table", () => {
  it('when read, then it has a row for every variable a service reads, and names no variable nothing reads', () => {
    expect(rows.length).toBeGreaterThan(20);
    expect([...ALL_VARIABLES].filter((v) => !documented.has(v)).sort()).toEqual([]);
    expect([...documented].filter((v) => !ALL_VARIABLES.has(v) && !START_ONLY.includes(v)).sort()).toEqual([]);
  });

  it("when a variable has a default in its schema, then its row's default column states that value (in a row of several, at the variable's place)", () => {
    let checked = 0;
    for (const [name, value] of schemaDefaults()) {
      if (!['number', 'string'].includes(typeof value)) continue;
      const row = rows.find((r) => r.variables.includes(name))!;
      const items = row.variables.length > 1 ? topLevelItems(row.defaults) : [row.defaults];
      expect({ name, items: items.length }).toEqual({ name, items: row.variables.length });
      const stated = items[row.variables.indexOf(name)];
      // The value as a whole token: 100 must not pass for 1000.
      const escaped = String(value).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      expect({ name, stated: new RegExp(`(^|[^\\w.])${escaped}([^\\w]|$)`).test(stated) }).toEqual({ name, stated: true });
      checked += 1;
    }
    expect(checked).toBeGreaterThan(30);
  });
});
