export type CharacterImportStatus = 'created' | 'would_create' | 'already_imported' | 'failed';

export interface CharacterImportResult {
  legacyId: string;
  name: string;
  slug: string | null;
  status: CharacterImportStatus;
  characterId: string | null;
  versions: number;
  currentVersion: number | null;
  attributes: number;
  references: number;
  missingReferences: number;
  /** Legacy definition keys kept in the stored JSON without a schema field, per version number. */
  keptDefinitionKeys: Record<number, string[]>;
  error?: string;
}

export interface MissingImage {
  character: string;
  reference: string;
  /** Where the file was looked for. */
  path: string;
  reason: string;
}

export interface ImportReport {
  dryRun: boolean;
  characters: CharacterImportResult[];
  /** Counts of what this run wrote (on a dry run: what it would write). */
  created: { characters: number; versions: number; attributes: number; references: number; versionReferences: number; files: number };
  /** Library files of characters imported before, put back because they were gone (no row changes). */
  restoredFiles: string[];
  /** `table.column` of legacy columns that are not carried over. */
  unknownColumns: string[];
  unknownTables: string[];
  missingImages: MissingImage[];
  warnings: string[];
  /** True when any character failed to import. */
  failed: boolean;
}

export function emptyReport(dryRun: boolean): ImportReport {
  return {
    dryRun,
    characters: [],
    created: { characters: 0, versions: 0, attributes: 0, references: 0, versionReferences: 0, files: 0 },
    restoredFiles: [],
    unknownColumns: [],
    unknownTables: [],
    missingImages: [],
    warnings: [],
    failed: false,
  };
}

/** The human summary the CLIs print. */
export function formatImportReport(report: ImportReport): string {
  const lines: string[] = [];
  const verb = report.dryRun ? 'would create' : 'created';
  for (const c of report.characters) {
    const who = `${c.name} (${c.legacyId})`;
    if (c.status === 'already_imported') lines.push(`skipped ${who}: already imported as ${c.slug}`);
    else if (c.status === 'failed') lines.push(`FAILED ${who}: ${c.error}`);
    else {
      const missing = c.missingReferences ? ` (${c.missingReferences} missing)` : '';
      lines.push(`${verb} ${who} as ${c.slug}: ${count(c.versions, 'version')} (current ${c.currentVersion}), ${count(c.attributes, 'attribute')}, ${count(c.references, 'reference')}${missing}`);
    }
  }
  if (report.unknownColumns.length) lines.push(`legacy columns not understood (not imported): ${report.unknownColumns.join(', ')}`);
  if (report.unknownTables.length) lines.push(`legacy tables not read: ${report.unknownTables.join(', ')}`);
  for (const m of report.missingImages) lines.push(`missing image for ${m.character} / ${m.reference}: ${m.path} (${m.reason})`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  for (const file of report.restoredFiles) lines.push(`${report.dryRun ? 'would restore' : 'restored'} missing library file ${file}`);
  const n = report.created;
  const total = n.characters + n.versions + n.attributes + n.references + n.versionReferences + n.files;
  lines.push(
    total === 0
      ? `${report.dryRun ? 'would create' : 'created'} nothing${report.characters.some((c) => c.status === 'already_imported') ? ': everything was already imported' : ''}`
      : `${verb} ${count(n.characters, 'character')}, ${count(n.versions, 'version')}, ${count(n.attributes, 'attribute')}, ${count(n.references, 'reference')}, ${count(n.versionReferences, 'version-reference link')}, ${count(n.files, 'file')}`,
  );
  return lines.join('\n');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
