import { createDb, type Db } from '@anime/db';
import { createTestDatabase, type TestDatabase } from '@anime/testing';
import { CharacterDomainError } from '../src/character-domain-error';
import { resolveCharacter } from '../src/resolve-character';

let database: TestDatabase;
let db: Db;
let kaiId: string;

async function expectDomainError(promise: Promise<unknown>, code: string, status: number): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CharacterDomainError);
  expect((error as CharacterDomainError).code).toBe(code);
  expect((error as CharacterDomainError).status).toBe(status);
}

beforeAll(async () => {
  database = await createTestDatabase('resolve');
  db = createDb(database.url);
  const kai = await db.character.create({ data: { slug: 'kai-nakamura', name: 'Kai Nakamura', currentVersion: 2 } });
  kaiId = kai.id;
  const face = await db.characterReference.create({
    data: { characterId: kai.id, label: 'Sakura', kind: 'face', path: 'references/kai-nakamura/a-sakura.png', sha256: 'a'.repeat(64), bytes: 10, mime: 'image/png' },
  });
  for (const number of [1, 2]) {
    await db.characterVersion.create({
      data: {
        characterId: kai.id,
        number,
        definition: { displayName: 'Kai Nakamura', triggerWords: [`kai-v${number}`] },
        attributes: { create: [{ key: 'hair_color', type: 'string', value: number === 1 ? 'black' : 'dark blue' }] },
        ...(number === 2 ? { references: { create: [{ referenceId: face.id }] } } : {}),
      },
    });
  }
  await db.character.create({ data: { slug: 'old-timer', name: 'Old Timer', currentVersion: 1, archivedAt: new Date() } });
  await db.character.create({ data: { slug: 'twin-a', name: 'Twin', currentVersion: 1 } });
  await db.character.create({ data: { slug: 'twin-b', name: 'twin', currentVersion: 1 } });
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('resolveCharacter', () => {
  it('when given a slug, then the current version comes with its attributes and references', async () => {
    const { character, version } = await resolveCharacter(db, 'kai-nakamura');
    expect(character.id).toBe(kaiId);
    expect(version.number).toBe(2);
    expect(version.attributes.map((a) => [a.key, a.value])).toEqual([['hair_color', 'dark blue']]);
    expect(version.references.map((r) => r.label)).toEqual(['Sakura']);
  });

  it('when given slug@N, then that version is returned', async () => {
    const { version } = await resolveCharacter(db, 'kai-nakamura@1');
    expect(version.number).toBe(1);
    expect(version.references).toEqual([]);
    expect(version.attributes[0].value).toBe('black');
  });

  it('when given the id or the display name in another case, then the same character is found', async () => {
    expect((await resolveCharacter(db, kaiId)).character.slug).toBe('kai-nakamura');
    expect((await resolveCharacter(db, '  kai NAKAMURA ')).character.slug).toBe('kai-nakamura');
    expect((await resolveCharacter(db, 'Kai Nakamura@1')).version.number).toBe(1);
  });

  it('when nothing matches, then character_not_found (404)', async () => {
    await expectDomainError(resolveCharacter(db, 'nobody'), 'character_not_found', 404);
    await expectDomainError(resolveCharacter(db, '00000000-0000-4000-8000-000000000000'), 'character_not_found', 404);
  });

  it('when slug@N comes padded with spaces, as a padded slug or name may, then version N is still the one pinned', async () => {
    expect((await resolveCharacter(db, 'kai-nakamura@1 ')).version.number).toBe(1);
    expect((await resolveCharacter(db, ' kai-nakamura@1\t')).version.number).toBe(1);
    expect((await resolveCharacter(db, 'Kai Nakamura@1 ')).version.number).toBe(1);
  });

  it('when the version does not exist, then version_not_found (404)', async () => {
    await expectDomainError(resolveCharacter(db, 'kai-nakamura@9'), 'version_not_found', 404);
  });

  it('when the pinned number is beyond what a version number can be, then version_not_found (404), not a database error', async () => {
    for (const ref of ['kai-nakamura@2147483648', 'kai-nakamura@9223372036854775807', 'kai-nakamura@99999999999999999999', 'Kai Nakamura@99999999999999999999', `${kaiId}@2147483648`]) {
      await expectDomainError(resolveCharacter(db, ref), 'version_not_found', 404);
    }
  });

  it('when the character is archived, then character_archived (409)', async () => {
    await expectDomainError(resolveCharacter(db, 'old-timer'), 'character_archived', 409);
  });

  it('when a name is shared, then character_ambiguous lists the slugs', async () => {
    const error = await resolveCharacter(db, 'TWIN').catch((e: CharacterDomainError) => e);
    expect((error as CharacterDomainError).code).toBe('character_ambiguous');
    expect(((error as CharacterDomainError).details as { slugs: string[] }).slugs.sort()).toEqual(['twin-a', 'twin-b']);
  });

  it('when a reference is attached or detached after the current version, then unpinned generations follow it and a pinned one keeps its own', async () => {
    const hiroshi = await db.characterReference.create({
      data: { characterId: kaiId, label: 'Hiroshi', kind: 'body', path: 'references/kai-nakamura/b-hiroshi.png', sha256: 'b'.repeat(64), bytes: 10, mime: 'image/png' },
    });
    expect((await resolveCharacter(db, 'kai-nakamura')).version.references.map((r) => r.label)).toEqual(['Sakura', 'Hiroshi']);
    await db.characterReference.updateMany({ where: { characterId: kaiId, label: 'Sakura' }, data: { detachedAt: new Date() } });
    expect((await resolveCharacter(db, 'kai-nakamura')).version.references.map((r) => r.id)).toEqual([hiroshi.id]);
    expect((await resolveCharacter(db, 'kai-nakamura@2')).version.references.map((r) => r.label)).toEqual(['Sakura']);
  });
});
