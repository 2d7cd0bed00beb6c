import path from 'node:path';
import { Client } from 'pg';
import { storeReferenceFile } from '@anime/characters';
import { CHARACTER_LIMITS } from '@anime/contracts';
import type { Db } from '@anime/db';
import { LocalLibraryStorage } from '@anime/media';
import { emptyReport, type CharacterImportResult, type ImportReport } from './import-report';
import { inspectLegacyLayout } from './legacy-layout';
import { planCharacter, type CharacterPlan } from './plan-character';
import { readLegacyCharacters, type LegacyCharacter } from './read-legacy';
import { readLegacyImage } from './read-legacy-image';
import { restoreReferenceFiles } from './restore-reference-files';
import { writeCharacter, type ReferenceRow } from './write-character';

/** Where progress goes; a winston logger fits, and so does a plain console adapter. */
export interface ImportLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ImportLegacyOptions {
  /** The original system's PostgreSQL database; only read. */
  fromUrl: string;
  targetDb: Db;
  libraryDir: string;
  /** What relative legacy `image_path`s are relative to; the working directory by default. */
  imagesRoot?: string;
  /** Read and check everything, write nothing (no rows, no files). */
  dryRun?: boolean;
  log?: ImportLog;
}

const SILENT: ImportLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Imports every legacy character that is not imported yet (Character.legacyId = `legacy:<id>`),
 * each in one transaction, copying its reference images into the library. Safe to run again:
 * a second run creates nothing, and only puts back reference files gone from the library.
 * A character that fails is reported and the others go on.
 *
 * @throws Error when the legacy database cannot be read or lacks the tables it needs.
 */
export async function importLegacy(options: ImportLegacyOptions): Promise<ImportReport> {
  const log = options.log ?? SILENT;
  const report = emptyReport(options.dryRun ?? false);
  const legacy = new Client({ connectionString: options.fromUrl });
  await legacy.connect();
  try {
    const layout = await inspectLegacyLayout(legacy);
    report.unknownColumns = layout.unknownColumns;
    report.unknownTables = layout.unknownTables;
    if (layout.unknownColumns.length) log.warn(`legacy columns not understood: ${layout.unknownColumns.join(', ')}`);
    for (const character of await readLegacyCharacters(legacy, layout)) {
      report.characters.push(await importOne(character, options, report, log));
    }
  } finally {
    await legacy.end();
  }
  report.failed = report.characters.some((c) => c.status === 'failed');
  return report;
}

async function importOne(character: LegacyCharacter, options: ImportLegacyOptions, report: ImportReport, log: ImportLog): Promise<CharacterImportResult> {
  const result: CharacterImportResult = {
    legacyId: `legacy:${character.id}`,
    name: character.name,
    slug: null,
    status: 'failed',
    characterId: null,
    versions: 0,
    currentVersion: null,
    attributes: 0,
    references: 0,
    missingReferences: 0,
    keptDefinitionKeys: {},
  };
  try {
    const existing = await options.targetDb.character.findUnique({ where: { legacyId: result.legacyId } });
    if (existing) {
      log.info(`${character.name} (${result.legacyId}) was already imported as ${existing.slug}`);
      const { restored, outsideLibrary } = await restoreReferenceFiles(options.targetDb, existing, planCharacter(character), options);
      for (const file of restored) log.warn(`${options.dryRun ? 'would restore' : 'restored'} missing library file ${file}`);
      for (const warning of outsideLibrary) log.warn(warning);
      report.restoredFiles.push(...restored);
      report.warnings.push(...outsideLibrary);
      return { ...result, status: 'already_imported', slug: existing.slug, characterId: existing.id, currentVersion: existing.currentVersion };
    }
    const planned = planCharacter(character);
    report.warnings.push(...planned.warnings);
    const slug = await freeSlug(options.targetDb, planned, report);
    const references = await storeReferences(planned, slug, options, report, log);
    const attached = checkReferenceCount(planned, references.length, report);
    const counts = {
      versions: planned.versions.length,
      attributes: planned.versions.reduce((n, v) => n + v.attributes.length, 0),
      references: references.length,
      versionReferences: attached * planned.versions.length,
    };
    let characterId: string | null = null;
    if (!options.dryRun) {
      try {
        characterId = (await writeCharacter(options.targetDb, planned, slug, references)).characterId;
      } catch (error) {
        // Another importer won the race for this legacy id: that is the idempotent outcome, not a failure.
        if ((error as { code?: string }).code === 'P2002' && (await options.targetDb.character.findUnique({ where: { legacyId: planned.legacyId } }))) {
          return { ...result, status: 'already_imported', slug };
        }
        throw error;
      }
    }
    report.created.characters += 1;
    report.created.versions += counts.versions;
    report.created.attributes += counts.attributes;
    report.created.references += counts.references;
    report.created.versionReferences += counts.versionReferences;
    log.info(`${options.dryRun ? 'would create' : 'created'} ${planned.name} as ${slug} with ${counts.versions} versions`);
    return {
      ...result,
      ...counts,
      status: options.dryRun ? 'would_create' : 'created',
      slug,
      characterId,
      currentVersion: planned.currentVersion,
      missingReferences: references.filter((r) => r.missing).length,
      keptDefinitionKeys: Object.fromEntries(planned.versions.filter((v) => v.keptKeys.length).map((v) => [v.number, v.keptKeys])),
    };
  } catch (error) {
    const message = (error as Error).message;
    log.error(`import of ${character.name} (${result.legacyId}) failed: ${message}`);
    return { ...result, status: 'failed', error: message };
  }
}

/**
 * A character holds at most CHARACTER_LIMITS.storedReferences images (else it fails, naming the
 * limit) and has at most attachedReferences of them attached: the rest come over detached (see
 * writeCharacter), with a warning. Returns how many are attached.
 */
function checkReferenceCount(plan: CharacterPlan, count: number, report: ImportReport): number {
  const { attachedReferences, storedReferences } = CHARACTER_LIMITS;
  if (count > storedReferences) throw new Error(`${plan.name} has ${count} reference images: a character holds at most ${storedReferences}`);
  if (count <= attachedReferences) return count;
  report.warnings.push(
    `${plan.name}: ${count} reference images; the first ${attachedReferences} are attached and the other ${count - attachedReferences} imported detached (at most ${attachedReferences} attached references per character)`,
  );
  return attachedReferences;
}

// A slug already held by a character of the new system keeps it; the import takes a suffixed one.
async function freeSlug(db: Db, plan: CharacterPlan, report: ImportReport): Promise<string> {
  if (!(await db.character.findUnique({ where: { slug: plan.slug } }))) return plan.slug;
  const slug = `${plan.slug}-${plan.legacyId.replace(/[^a-z0-9]+/gi, '-')}`;
  report.warnings.push(`${plan.name}: slug ${plan.slug} is taken; imported as ${slug}`);
  return slug;
}

async function storeReferences(plan: CharacterPlan, slug: string, options: ImportLegacyOptions, report: ImportReport, log: ImportLog): Promise<ReferenceRow[]> {
  const rows = new Map<string, ReferenceRow>();
  const root = options.imagesRoot ?? process.cwd();
  const storage = new LocalLibraryStorage(options.libraryDir);
  for (const reference of plan.references) {
    const sourcePath = path.resolve(root, reference.imagePath);
    const image = await readLegacyImage(sourcePath);
    const common = { label: reference.label, kind: reference.kind, createdAt: reference.createdAt };
    if (!image.found) {
      report.missingImages.push({ character: plan.name, reference: reference.label, path: sourcePath, reason: image.reason });
      log.warn(`missing image for ${plan.name} / ${reference.label}: ${sourcePath} (${image.reason})`);
      // The sha256 column is unique per character and must not look like a real hash: an empty file's would.
      const sha256 = `missing:legacy-reference-${reference.legacyId}`;
      rows.set(sha256, { ...common, path: reference.imagePath, sha256, bytes: 0, width: null, height: null, mime: 'application/octet-stream', missing: true });
      continue;
    }
    const file = await storeReferenceFile(storage, { bytes: image.bytes, characterSlug: slug, label: reference.label, dryRun: options.dryRun });
    if (rows.has(file.sha256)) {
      report.warnings.push(`${plan.name}: reference ${reference.label} has the same bytes as ${rows.get(file.sha256)!.label}; kept once`);
      continue;
    }
    if (file.isNew) report.created.files += 1;
    const { path: stored, sha256, bytes, width, height, mime } = file;
    rows.set(sha256, { ...common, path: stored, sha256, bytes, width, height, mime, missing: false });
  }
  return [...rows.values()];
}
