import { Client } from 'pg';
import { CHARACTER_LIMITS } from '@anime/contracts';
import { createDb, type Db } from '@anime/db';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '@anime/testing';
import { importLegacy } from '../src/legacy/import-legacy';
import { LEGACY_FIXTURE_DIR } from '../src/legacy/seed-demo';
import { createTempDir, type TempDir } from './legacy-fixture';

// An older layout: attributes hang off the character, definitions are text, no slug, no current flag.
const OLDER_LAYOUT = `
CREATE TABLE character_definitions (id serial PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());
CREATE TABLE character_versions (id serial PRIMARY KEY, character_id int NOT NULL, version_number int, definition text NOT NULL);
CREATE TABLE character_attributes (id serial PRIMARY KEY, character_id int NOT NULL, attribute_name text, attribute_value text, attribute_type text);
CREATE TABLE notes (id serial PRIMARY KEY, body text);
INSERT INTO character_definitions (id, name) VALUES (1, 'Mio Tanaka'), (2, 'Broken One');
INSERT INTO character_versions (character_id, version_number, definition) VALUES
  (1, 5, '{"name": "Mio Tanaka", "appearance": {"hair": "long red hair"}}'),
  (1, 9, '{"name": "Mio Tanaka", "appearance": {"hair": "long red hair, bangs"}, "trigger_word": "miotanaka"}'),
  (2, 1, '{"name": "Broken One", "outfits": [{"name": "no prompt"}]}');
INSERT INTO character_attributes (character_id, attribute_name, attribute_value, attribute_type) VALUES
  (1, 'Hair Color', 'red', 'string'), (1, 'age', '19', NULL);
`;

let legacy: TestDatabase;
let target: TestDatabase;
let db: Db;
let library: TempDir;

beforeAll(async () => {
  legacy = await createEmptyDatabase('legacyold');
  const client = new Client({ connectionString: legacy.url });
  await client.connect();
  await client.query(OLDER_LAYOUT);
  await client.end();
  target = await createTestDatabase('variants');
  db = createDb(target.url, { max: 2 });
  library = await createTempDir('variants');
});

afterAll(async () => {
  await db?.$disconnect();
  await target?.drop();
  await legacy?.drop();
  await library?.remove();
});

describe('importLegacy on an older legacy layout', () => {
  it('when attributes hang off the character, then every version gets them; a bad definition fails only its character', async () => {
    const report = await importLegacy({ fromUrl: legacy.url, targetDb: db, libraryDir: library.path });

    expect(report.failed).toBe(true);
    expect(report.characters.map((c) => [c.name, c.status])).toEqual([
      ['Mio Tanaka', 'created'],
      ['Broken One', 'failed'],
    ]);
    expect(report.characters[1].error).toMatch(/outfits\.0\.prompt/);
    expect(report.unknownTables).toEqual(['notes']);
    expect(report.warnings.join('\n')).toMatch(/no version is marked current/);

    const mio = await db.character.findUniqueOrThrow({
      where: { slug: 'mio-tanaka' },
      include: { versions: { orderBy: { number: 'asc' }, include: { attributes: { orderBy: { key: 'asc' } } } } },
    });
    expect(mio.currentVersion).toBe(2);
    expect(mio.versions.map((v) => v.number)).toEqual([1, 2]);
    for (const version of mio.versions) {
      expect(version.attributes.map((a) => [a.key, a.type, a.value])).toEqual([
        ['age', 'number', 19],
        ['hair_color', 'string', 'red'],
      ]);
    }
    expect(mio.versions[1].definition).toMatchObject({ triggerWords: ['miotanaka'] });
    expect(await db.character.count({ where: { name: 'Broken One' } })).toBe(0);
  });
});

describe('importLegacy with names and labels the API would not take', () => {
  let odd: TestDatabase;
  beforeAll(async () => {
    odd = await createEmptyDatabase('legacyodd');
    const client = new Client({ connectionString: odd.url });
    await client.connect();
    await client.query(`
      CREATE TABLE character_definitions (id serial PRIMARY KEY, name text NOT NULL, slug text);
      CREATE TABLE character_versions (id serial PRIMARY KEY, character_id int NOT NULL, version_number int, definition jsonb NOT NULL, is_current boolean);
      CREATE TABLE character_references (id serial PRIMARY KEY, character_id int NOT NULL, name text NOT NULL, image_path text NOT NULL, reference_type text);
      INSERT INTO character_definitions (id, name, slug) VALUES (21, repeat('Long', 60), 'long-name');
      INSERT INTO character_versions (character_id, version_number, definition, is_current) VALUES (21, 1, '{"name": "Long"}', true);
      INSERT INTO character_references (character_id, name, image_path, reference_type) VALUES
        (21, '', 'images/sakura.png', 'face'), (21, repeat('L', 250), 'images/hiroshi.png', 'body');
    `);
    await client.end();
  });
  afterAll(() => odd?.drop());

  it('then the name and each label are cut to 200 characters or named after the image file, with a warning, so the character can travel in a bundle', async () => {
    const report = await importLegacy({ fromUrl: odd.url, targetDb: db, libraryDir: library.path, imagesRoot: LEGACY_FIXTURE_DIR });
    expect(report.characters.map((c) => c.status)).toEqual(['created']);
    const character = await db.character.findUniqueOrThrow({ where: { slug: 'long-name' }, include: { references: { orderBy: { createdAt: 'asc' } } } });
    // Once stored as they came: 240 characters and an empty label, which a bundle import refuses (1 to 200).
    expect(character.name).toBe('Long'.repeat(60).slice(0, 200));
    expect(character.references.map((r) => r.label).sort()).toEqual(['L'.repeat(200), 'sakura']);
    expect(report.warnings.join('\n')).toMatch(/name is 240 characters; cut to 200/);
    expect(report.warnings.join('\n')).toMatch(/reference label is 250 characters; cut to 200/);
  });
});

describe('importLegacy with more reference images than a character may hold', () => {
  const { attachedReferences, storedReferences, versions: maxVersions } = CHARACTER_LIMITS;
  let many: TestDatabase;
  beforeAll(async () => {
    many = await createEmptyDatabase('legacymany');
    const client = new Client({ connectionString: many.url });
    await client.connect();
    // Images that are not there are imported as references marked missing: enough to count rows.
    await client.query(`
      CREATE TABLE character_definitions (id serial PRIMARY KEY, name text NOT NULL, slug text);
      CREATE TABLE character_versions (id serial PRIMARY KEY, character_id int NOT NULL, version_number int, definition jsonb NOT NULL, is_current boolean);
      CREATE TABLE character_references (id serial PRIMARY KEY, character_id int NOT NULL, name text NOT NULL, image_path text NOT NULL, reference_type text);
      INSERT INTO character_definitions (id, name, slug) VALUES (31, 'Sixty', 'sixty'), (32, 'Hoarder', 'hoarder'), (33, 'Ancient', 'ancient');
      INSERT INTO character_versions (character_id, version_number, definition, is_current) VALUES (31, 1, '{"name": "Sixty"}', false), (31, 2, '{"name": "Sixty"}', true), (32, 1, '{"name": "Hoarder"}', true);
      INSERT INTO character_versions (character_id, version_number, definition, is_current) SELECT 33, n, '{"name": "Ancient"}', n = 1 FROM generate_series(1, ${maxVersions + 1}) AS n;
      INSERT INTO character_references (character_id, name, image_path, reference_type) SELECT 31, 'ref ' || n, 'gone/' || n || '.png', 'face' FROM generate_series(1, ${attachedReferences + 10}) AS n;
      INSERT INTO character_references (character_id, name, image_path, reference_type) SELECT 32, 'ref ' || n, 'gone/' || n || '.png', 'face' FROM generate_series(1, ${storedReferences + 1}) AS n;
    `);
    await client.end();
  });
  afterAll(() => many?.drop());

  it(`then the first ${attachedReferences} are attached and linked to every version, the rest kept detached with a warning; past ${storedReferences} images or ${maxVersions} versions the character fails naming the limit`, async () => {
    const report = await importLegacy({ fromUrl: many.url, targetDb: db, libraryDir: library.path, imagesRoot: library.path });
    expect(report.characters.map((c) => [c.name, c.status])).toEqual([
      ['Sixty', 'created'],
      ['Hoarder', 'failed'],
      ['Ancient', 'failed'],
    ]);
    expect(report.characters[1].error).toContain(`has ${storedReferences + 1} reference images: a character holds at most ${storedReferences}`);
    expect(report.characters[2].error).toContain(`has ${maxVersions + 1} versions: a character has at most ${maxVersions} versions`);
    expect(report.warnings.join('\n')).toContain(`Sixty: ${attachedReferences + 10} reference images; the first ${attachedReferences} are attached and the other 10 imported detached`);

    const sixty = await db.character.findUniqueOrThrow({ where: { slug: 'sixty' }, include: { references: true, versions: { include: { references: true } } } });
    expect(sixty.references).toHaveLength(attachedReferences + 10);
    const attached = sixty.references.filter((r) => !r.detachedAt);
    expect(attached.map((r) => r.label).sort()).toEqual(Array.from({ length: attachedReferences }, (_, i) => `ref ${i + 1}`).sort());
    for (const version of sixty.versions) expect(version.references.map((l) => l.referenceId).sort()).toEqual(attached.map((r) => r.id).sort());
    expect(report.created.versionReferences).toBe(attachedReferences * 2);
    expect(await db.character.count({ where: { slug: { in: ['hoarder', 'ancient'] } } })).toBe(0);
  });
});
