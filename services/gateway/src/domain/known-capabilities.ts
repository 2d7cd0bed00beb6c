import type { Db } from '@anime/db';
import type { BackendCapabilities } from '@anime/workflows';

const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);

/**
 * What the backends the orchestrator has asked offer, from its `backends` rows: a template's
 * registration warns about node classes and models none of them has. Backends never asked yet
 * (no capabilities recorded) are left out, so silence means "not checked", not "all present".
 */
export async function knownBackendCapabilities(db: Db): Promise<BackendCapabilities[]> {
  const rows = await db.backend.findMany({ where: { capabilitiesAt: { not: null } }, orderBy: { url: 'asc' } });
  return rows.map((row) => ({ url: row.url, checkpoints: strings(row.checkpoints), loras: strings(row.loras), nodeClasses: strings(row.nodeClasses) }));
}
