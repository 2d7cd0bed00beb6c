import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { buildConditioning, resolveCharacter } from '@anime/characters';
import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { importLegacy } from '../src/legacy/import-legacy';
import { formatImportReport } from '../src/legacy/import-report';
import { LEGACY_FIXTURE_DIR } from '../src/legacy/seed-demo';
import { collectingLog, createLegacyDatabase, createTempDir, type TempDir } from './legacy-fixture';

let legacy: TestDatabase;
const cleanup: (() => Promise<unknown>)[] = [];

async function freshTarget(label: string): Promise<{ db: Db; library: TempDir }> {
  const database = await createTestDatabase(label);
  const db = createDb(database.url, { max: 2 });
  const library = await createTempDir(label);
  cleanup.push(() => db.$disconnect().then(() => database.drop()), library.remove);
  return { db, library };
}

async function countRows(db: Db): Promise<Record<string, number>> {
  return {
    characters: await db.character.count(),
    versions: await db.characterVersion.count(),
    attributes: await db.characterAttribute.count(),
    references: await db.characterReference.count(),
    versionReferences: await db.versionReference.count(),
  };
}

beforeAll(async () => {
  legacy = await createLegacyDatabase();
});

afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  await legacy?.drop();
});

describe('importLegacy on the legacy fixture', () => {
  let db: Db;
  let library: TempDir;

  beforeAll(async () => {
    ({ db, library } = await freshTarget('import'));
  });

  it('when run on a fresh database, then Kai arrives with 3 versions, typed attributes and copied references', async () => {
    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR });

    expect(report.failed).toBe(false);
    expect(report.created).toEqual({ characters: 1, versions: 3, attributes: 16, references: 2, versionReferences: 6, files: 2 });
    expect(await countRows(db)).toEqual({ characters: 1, versions: 3, attributes: 16, references: 2, versionReferences: 6 });

    const kai = await db.character.findUniqueOrThrow({ where: { legacyId: 'legacy:7' }, include: { versions: { orderBy: { number: 'asc' }, include: { attributes: true } } } });
    expect(kai).toMatchObject({ slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 3, archivedAt: null });
    const [v1, v2, v3] = kai.versions.map((v) => v.definition as Record<string, any>);
    expect(v1.outfits.map((o: { name: string }) => o.name)).toEqual(['school uniform']);
    expect(v2.outfits.map((o: { name: string }) => o.name)).toEqual(['school uniform', 'jacket']);
    expect(v1.appearance.hair).not.toBe(v2.appearance.hair);
    expect(v1.triggerWords).toEqual([]);
    expect(v3).toMatchObject({
      displayName: 'Kai Nakamura',
      triggerWords: ['kainakamura'],
      loras: [],
      prompt: { negative: 'lowres, bad anatomy, bad hands, extra fingers, watermark' },
    });
    // Keys the schema has no field for stay in the stored JSON.
    expect(v3.voice_notes).toBe('low, calm voice');
    expect(v3.sampler).toEqual({ steps: 28, cfg: 7 });
    expect(report.characters[0].keptDefinitionKeys[3].sort()).toEqual(['sampler', 'voice_notes']);

    const v3Attributes = Object.fromEntries(kai.versions[2].attributes.map((a) => [a.key, [a.type, a.value]]));
    expect(v3Attributes).toEqual({
      hair_color: ['string', 'dark blue'],
      eye_color: ['string', 'amber'],
      age: ['number', 17],
      height_cm: ['number', 172.5],
      is_student: ['boolean', true],
      dominant_hand: ['string', 'left'],
    });
    expect(Object.fromEntries(kai.versions[0].attributes.map((a) => [a.key, a.value]))).toMatchObject({ hair_color: 'black', age: 16 });
  });

  it('when imported, then each reference file exists in the library with the recorded sha256, size and dimensions', async () => {
    const references = await db.characterReference.findMany({ orderBy: { label: 'asc' }, include: { versions: true } });
    expect(references.map((r) => [r.label, r.kind, r.missing])).toEqual([
      ['Hiroshi', 'body', false],
      ['Sakura', 'face', false],
    ]);
    for (const reference of references) {
      expect(reference.path).toMatch(new RegExp(`^references/kai-nakamura/${reference.sha256.slice(0, 8)}-${reference.label.toLowerCase()}\\.png$`));
      const bytes = await readFile(path.join(library.path, reference.path));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(reference.sha256);
      expect(reference).toMatchObject({ bytes: bytes.length, width: 64, height: 64, mime: 'image/png' });
      expect(reference.versions).toHaveLength(3);
    }
    expect(references[0].sha256).not.toBe(references[1].sha256);
  });

  it('when run a second time, then it creates nothing and says so', async () => {
    const before = await countRows(db);
    const log = collectingLog();
    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR, log });

    expect(await countRows(db)).toEqual(before);
    expect(report.created).toEqual({ characters: 0, versions: 0, attributes: 0, references: 0, versionReferences: 0, files: 0 });
    expect(report.characters.map((c) => [c.legacyId, c.status, c.slug])).toEqual([['legacy:7', 'already_imported', 'kai-nakamura']]);
    expect(formatImportReport(report)).toMatch(/created nothing: everything was already imported/);
    expect(log.lines.join('\n')).toMatch(/already imported as kai-nakamura/);
    expect(await readdir(path.join(library.path, 'references', 'kai-nakamura'))).toHaveLength(2);
  });

  it('when the library lost a reference file (a new checkout), then a re-run puts it back and creates no row', async () => {
    const sakura = await db.characterReference.findFirstOrThrow({ where: { label: 'Sakura' } });
    await rm(path.join(library.path, sakura.path));
    const before = await countRows(db);

    const dry = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR, dryRun: true });
    expect(dry.restoredFiles).toEqual([sakura.path]);
    await expect(readFile(path.join(library.path, sakura.path))).rejects.toThrow(/ENOENT/);

    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR });
    expect(report.restoredFiles).toEqual([sakura.path]);
    expect(formatImportReport(report)).toContain(`restored missing library file ${sakura.path}`);
    expect(createHash('sha256').update(await readFile(path.join(library.path, sakura.path))).digest('hex')).toBe(sakura.sha256);
    expect(await countRows(db)).toEqual(before);
    expect((await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR })).restoredFiles).toEqual([]);
  });

  it('when the legacy tables have a column the importer does not understand, then it is listed', async () => {
    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR });
    expect(report.unknownColumns).toEqual(['character_definitions.mood_board_url']);
    expect(formatImportReport(report)).toMatch(/not understood.*character_definitions\.mood_board_url/);
  });

  it('when imported, then the current version conditions a prompt with its trigger word and outfit', async () => {
    const { version } = await resolveCharacter(db, 'Kai Nakamura');
    const conditioning = buildConditioning({ definition: version.definition as never, attributes: version.attributes, outfit: 'jacket', userPrompt: 'on a rooftop', references: version.references });
    expect(conditioning.positive.startsWith('kainakamura, 17 years old, shoulder-length dark blue hair')).toBe(true);
    expect(conditioning.positive).toMatch(/red bomber jacket.*on a rooftop$/);
    expect(conditioning.references.map((r) => r.label).sort()).toEqual(['Hiroshi', 'Sakura']);
  });

  it('when anything tries to UPDATE or DELETE a version, then the database refuses', async () => {
    const version = await db.characterVersion.findFirstOrThrow({ where: { number: 1 } });
    await expect(db.$executeRaw`UPDATE character_versions SET note = 'rewritten' WHERE id = ${version.id}::uuid`).rejects.toThrow(/immutable/);
    await expect(db.characterVersion.update({ where: { id: version.id }, data: { definition: {} } })).rejects.toThrow(/immutable/);
    await expect(db.$executeRaw`DELETE FROM character_versions WHERE id = ${version.id}::uuid`).rejects.toThrow(/immutable/);
    await expect(db.$executeRaw`UPDATE character_attributes SET value = '"x"' WHERE "versionId" = ${version.id}::uuid`).rejects.toThrow(/immutable/);
    await expect(db.$executeRaw`DELETE FROM version_references WHERE "versionId" = ${version.id}::uuid`).rejects.toThrow(/immutable/);
    expect((await db.characterVersion.findUniqueOrThrow({ where: { id: version.id } })).note).toBe('first sheet');
  });
});

describe('importLegacy when an image file is missing', () => {
  it('then the path is reported, the import goes on, and the reference is kept marked missing', async () => {
    const { db, library } = await freshTarget('missing');
    const images = await createTempDir('images');
    cleanup.push(images.remove);
    await mkdir(path.join(images.path, 'images'));
    await copyFile(path.join(LEGACY_FIXTURE_DIR, 'images', 'sakura.png'), path.join(images.path, 'images', 'sakura.png'));
    const log = collectingLog();

    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: images.path, log });

    expect(report.failed).toBe(false);
    expect(report.missingImages).toEqual([
      { character: 'Kai Nakamura', reference: 'Hiroshi', path: path.join(images.path, 'images', 'hiroshi.png'), reason: 'no such file' },
    ]);
    expect(log.lines.join('\n')).toContain(path.join(images.path, 'images', 'hiroshi.png'));
    expect(formatImportReport(report)).toContain(path.join(images.path, 'images', 'hiroshi.png'));
    const hiroshi = await db.characterReference.findFirstOrThrow({ where: { label: 'Hiroshi' }, include: { versions: true } });
    expect(hiroshi).toMatchObject({ missing: true, bytes: 0, width: null, height: null, path: 'images/hiroshi.png' });
    expect(hiroshi.sha256).not.toBe(createHash('sha256').update('').digest('hex'));
    expect(hiroshi.sha256).not.toMatch(/^[0-9a-f]{64}$/);
    expect(hiroshi.versions).toHaveLength(3);
    expect(await db.characterReference.findFirstOrThrow({ where: { label: 'Sakura' } })).toMatchObject({ missing: false });
    expect(report.characters[0]).toMatchObject({ status: 'created', references: 2, missingReferences: 1 });
  });
});

describe('importLegacy with --dry-run', () => {
  it('then it reports what it would create and writes neither rows nor files', async () => {
    const { db, library } = await freshTarget('dryrun');
    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR, dryRun: true });

    expect(report.dryRun).toBe(true);
    expect(report.characters[0]).toMatchObject({ status: 'would_create', versions: 3, currentVersion: 3 });
    expect(report.created).toMatchObject({ characters: 1, versions: 3, files: 2 });
    expect(formatImportReport(report)).toMatch(/^would create Kai Nakamura/);
    expect(await countRows(db)).toEqual({ characters: 0, versions: 0, attributes: 0, references: 0, versionReferences: 0 });
    expect(await readdir(library.path)).toEqual([]);
  });
});
